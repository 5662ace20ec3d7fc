/**
 * A Go text/template work-alike for `--format` strings, with docker's extra
 * functions (json, split, join, title, lower, upper, pad, truncate).
 *
 * Written from the documented behaviour of text/template: the lexer and parser
 * reproduce Go's error messages ("template: NAME:LINE: …"), execution follows
 * its rules for fields, maps (sorted keys), variables, if/with/range/else,
 * break/continue and the builtin functions. See gofmt.ts for how JS values map
 * onto Go types. Objects stand for both structs and maps; a function-valued
 * property is called like a method (with the action's arguments).
 */
import {
  byteCompare, formatValue, goJson, goQuote, goTypeName, isInt, sortedKeys, sprint, sprintf, sprintln,
} from '../gofmt.js';

export type TemplateFunc = (...args: any[]) => unknown;

export interface TemplateOptions {
  /** Template name shown in messages (`template: NAME:1: …`); docker uses "" for most commands. */
  name?: string;
  /** Go's missingkey option: "default" (<no value>), "zero" (same for untyped data) or "error". */
  missingKey?: 'default' | 'zero' | 'error';
  /**
   * Names the Go struct type an object stands for, making a missing field an error
   * (`can't evaluate field X in type T`) instead of a map's <no value>.
   */
  structType?: (obj: object) => string | undefined;
}

/** Thrown for bad templates (kind "parse") and failed executions (kind "exec"). */
export class TemplateError extends Error {
  /** Go's own text, e.g. `template: :1: function "foo" not defined`. */
  readonly goMessage: string;
  readonly kind: 'parse' | 'exec';
  /** For exec errors: what had been written before the failure. */
  partial = '';
  constructor(kind: 'parse' | 'exec', goMessage: string, prefix = 'template parsing error: ') {
    super(prefix + goMessage);
    this.name = 'TemplateError';
    this.kind = kind;
    this.goMessage = goMessage;
  }
}

// ============================================================== lexer

const enum T {
  Error, EOF, Text, LeftDelim, RightDelim, Space, Field, Variable, Identifier, String, RawString,
  Char, CharConstant, Number, Bool, Pipe, Declare, Assign, LeftParen, RightParen,
  // keywords (all after Keyword; Go prints them as <word>)
  Keyword, Block, Break, Continue, Dot, Define, Else, End, If, Nil, Range, Template, With,
}

const KEYWORDS: Record<string, T> = {
  block: T.Block, break: T.Break, continue: T.Continue, define: T.Define, else: T.Else, end: T.End,
  if: T.If, range: T.Range, nil: T.Nil, template: T.Template, with: T.With,
};

interface Item { typ: T; val: string; pos: number; line: number }

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string | undefined) => c !== undefined && (c === '_' || /^[\p{L}\p{Nd}]$/u.test(c));

function itemString(it: Item): string {
  if (it.typ === T.EOF) return 'EOF';
  if (it.typ === T.Error) return it.val;
  if (it.typ > T.Keyword) return `<${it.val}>`;
  const chars = [...it.val];
  if (chars.length > 10) return goQuote(chars.slice(0, 10).join('')) + '...';
  return goQuote(it.val);
}

function hexRune(r: string): string {
  const cp = r.codePointAt(0)!;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${r}'`;
}

function lex(input: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  let start = 0;
  let line = 1;
  let startLine = 1;
  let parenDepth = 0;
  const n = input.length;

  const emitAs = (typ: T, val: string) => { items.push({ typ, val, pos: start, line: startLine }); start = pos; startLine = line; };
  const emit = (typ: T) => emitAs(typ, input.slice(start, pos));
  const ignore = () => { start = pos; startLine = line; };
  const advance = (k: number) => { line += countNL(input.slice(pos, pos + k)); pos += k; };
  const fail = (msg: string) => { items.push({ typ: T.Error, val: msg, pos: start, line: startLine }); };
  const next = (): string | undefined => {
    if (pos >= n) { pos = n + 1; return undefined; }
    const c = String.fromCodePoint(input.codePointAt(pos)!);
    pos += c.length;
    if (c === '\n') line++;
    return c;
  };
  const backup = (c: string | undefined) => {
    if (c === undefined) { pos = n; return; }
    pos -= c.length;
    if (c === '\n') line--;
  };
  const peek = () => { const c = next(); backup(c); return c; };
  const hasLeftTrim = (at: number) => input[at] === '-' && isSpace(input[at + 1]);
  const hasRightTrim = (at: number) => isSpace(input[at]) && input[at + 1] === '-';
  const atRightDelim = (): [boolean, boolean] => {
    if (hasRightTrim(pos) && input.startsWith('}}', pos + 2)) return [true, true];
    if (input.startsWith('}}', pos)) return [true, false];
    return [false, false];
  };
  const atTerminator = () => {
    const c = peek();
    if (c === undefined || isSpace(c)) return true;
    if ('.,|:)('.includes(c)) return true;
    return input.startsWith('}}', pos);
  };
  const trimLeadingSpace = () => { while (pos < n && isSpace(input[pos])) advance(1); };

  // returns false when an error was emitted
  const lexText = (): boolean => {
    const x = input.indexOf('{{', pos);
    if (x < 0) {
      advance(n - pos);
      if (pos > start) emit(T.Text);
      items.push({ typ: T.EOF, val: '', pos: n, line });
      return false;
    }
    let textEnd = x;
    if (hasLeftTrim(x + 2)) while (textEnd > start && isSpace(input[textEnd - 1])) textEnd--;
    const text = input.slice(start, textEnd);
    if (text.length > 0) items.push({ typ: T.Text, val: text, pos: start, line: startLine });
    advance(x - pos);
    ignore();
    return true;
  };

  // the main loop: alternate text and actions
  for (;;) {
    if (!lexText()) return items;
    // left delimiter
    const trim = hasLeftTrim(pos + 2);
    const after = pos + 2 + (trim ? 2 : 0);
    if (input.startsWith('/*', after)) {
      advance(after - pos);
      ignore();
      const end = input.indexOf('*/', pos + 2);
      if (end < 0) { fail('unclosed comment'); return items; }
      advance(end + 2 - pos);
      const [delim, trimR] = atRightDelim();
      if (!delim) { fail('comment ends before closing delimiter'); return items; }
      advance((trimR ? 2 : 0) + 2);
      if (trimR) trimLeadingSpace();
      ignore();
      continue;
    }
    advance(2);
    emit(T.LeftDelim);
    if (trim) { advance(2); ignore(); }
    parenDepth = 0;
    // inside action
    let ok = true;
    for (;;) {
      const [delim, trimR] = atRightDelim();
      if (delim) {
        if (parenDepth !== 0) { fail('unclosed left paren'); ok = false; break; }
        if (trimR) { advance(2); ignore(); }
        advance(2);
        emit(T.RightDelim);
        if (trimR) { trimLeadingSpace(); ignore(); }
        break;
      }
      const r = next();
      if (r === undefined) { pos = n; fail('unclosed action'); ok = false; break; }
      if (isSpace(r)) {
        let spaces = 1;
        while (isSpace(peek())) { next(); spaces++; }
        if (hasRightTrim(pos - 1) && input.startsWith('}}', pos + 1)) {
          backup(input[pos - 1]);
          if (spaces === 1) { continue; }
        }
        emit(T.Space);
        continue;
      }
      if (r === '=') { emit(T.Assign); continue; }
      if (r === ':') {
        if (next() !== '=') { fail('expected :='); ok = false; break; }
        emit(T.Declare);
        continue;
      }
      if (r === '|') { emit(T.Pipe); continue; }
      if (r === '"') {
        let err = '';
        for (;;) {
          let c = next();
          if (c === '\\') { c = next(); if (c !== undefined && c !== '\n') continue; }
          if (c === undefined || c === '\n') { err = 'unterminated quoted string'; break; }
          if (c === '"') break;
        }
        if (err) { fail(err); ok = false; break; }
        emit(T.String);
        continue;
      }
      if (r === '`') {
        const end = input.indexOf('`', pos);
        if (end < 0) { fail('unterminated raw quoted string'); ok = false; break; }
        advance(end + 1 - pos);
        emit(T.RawString);
        continue;
      }
      if (r === "'") {
        let err = '';
        for (;;) {
          let c = next();
          if (c === '\\') { c = next(); if (c !== undefined && c !== '\n') continue; }
          if (c === undefined || c === '\n') { err = 'unterminated character constant'; break; }
          if (c === "'") break;
        }
        if (err) { fail(err); ok = false; break; }
        emit(T.CharConstant);
        continue;
      }
      if (r === '$' || (r === '.' && pos < n && !(input[pos] >= '0' && input[pos] <= '9'))) {
        const typ = r === '$' ? T.Variable : T.Field;
        if (atTerminator()) { emit(typ === T.Variable ? T.Variable : T.Dot); continue; }
        let c: string | undefined;
        for (;;) { c = next(); if (!isAlnum(c)) { backup(c); break; } }
        if (!atTerminator()) { fail(`bad character ${hexRune(c ?? '')}`); ok = false; break; }
        emit(typ);
        continue;
      }
      if (r === '.' || r === '+' || r === '-' || (r >= '0' && r <= '9')) {
        backup(r);
        if (!scanNumber()) { fail(`bad number syntax: ${goQuote(input.slice(start, pos))}`); ok = false; break; }
        emit(T.Number);
        continue;
      }
      if (isAlnum(r)) {
        let c: string | undefined;
        for (;;) { c = next(); if (!isAlnum(c)) { backup(c); break; } }
        const word = input.slice(start, pos);
        if (!atTerminator()) { fail(`bad character ${hexRune(c ?? '')}`); ok = false; break; }
        const kw = KEYWORDS[word];
        if (kw !== undefined && Object.prototype.hasOwnProperty.call(KEYWORDS, word)) emit(kw);
        else if (word === 'true' || word === 'false') emit(T.Bool);
        else emit(T.Identifier);
        continue;
      }
      if (r === '(') { emit(T.LeftParen); parenDepth++; continue; }
      if (r === ')') {
        parenDepth--;
        if (parenDepth < 0) { fail('unexpected right paren'); ok = false; break; }
        emit(T.RightParen);
        continue;
      }
      if (r.codePointAt(0)! < 0x7f && r.codePointAt(0)! >= 0x20) { emit(T.Char); continue; }
      fail(`unrecognized character in action: ${hexRune(r)}`);
      ok = false;
      break;
    }
    if (!ok) return items;
  }

  function scanNumber(): boolean {
    const accept = (set: string) => { const c = next(); if (c !== undefined && set.includes(c)) return true; backup(c); return false; };
    const acceptRun = (set: string) => { for (;;) { const c = next(); if (c === undefined || !set.includes(c)) { backup(c); return; } } };
    accept('+-');
    let digits = '0123456789_';
    if (accept('0')) {
      if (accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (accept('oO')) digits = '01234567_';
      else if (accept('bB')) digits = '01_';
    }
    acceptRun(digits);
    if (accept('.')) acceptRun(digits);
    if (digits.length === 11 && accept('eE')) { accept('+-'); acceptRun('0123456789_'); }
    if (digits.length === 23 && accept('pP')) { accept('+-'); acceptRun('0123456789_'); }
    accept('i');
    if (isAlnum(peek())) { next(); return false; }
    return true;
  }
}

function countNL(s: string): number {
  let c = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) c++;
  return c;
}

// ============================================================== parse tree

type Arg =
  | { k: 'field'; pos: number; idents: string[] }
  | { k: 'var'; pos: number; idents: string[] }
  | { k: 'dot'; pos: number }
  | { k: 'nil'; pos: number }
  | { k: 'bool'; pos: number; val: boolean }
  | { k: 'number'; pos: number; text: string; val: number | bigint; isFloat: boolean }
  | { k: 'string'; pos: number; quoted: string; val: string }
  | { k: 'ident'; pos: number; name: string }
  | { k: 'chain'; pos: number; node: Arg; idents: string[] }
  | Pipe;

interface Pipe { k: 'pipe'; pos: number; line: number; decl: string[]; isAssign: boolean; cmds: Cmd[] }
interface Cmd { k: 'cmd'; pos: number; args: Arg[] }

interface ControlNode { k: 'if' | 'with' | 'range'; pos: number; pipe: Pipe; list: Node[]; elseList: Node[] | null }

type Node =
  | { k: 'text'; text: string }
  | { k: 'action'; pos: number; pipe: Pipe }
  | ControlNode
  | { k: 'break' | 'continue'; pos: number }
  | { k: 'template'; pos: number; name: string; pipe: Pipe | null };

function argString(a: Arg | Cmd): string {
  switch (a.k) {
    case 'field': return a.idents.map((i) => '.' + i).join('');
    case 'var': return a.idents.join('.');
    case 'dot': return '.';
    case 'nil': return 'nil';
    case 'bool': return String(a.val);
    case 'number': return a.text;
    case 'string': return a.quoted;
    case 'ident': return a.name;
    case 'chain': {
      const base = a.node.k === 'pipe' ? '(' + argString(a.node) + ')' : argString(a.node);
      return base + a.idents.map((i) => '.' + i).join('');
    }
    case 'cmd': return a.args.map((x) => (x.k === 'pipe' ? '(' + argString(x) + ')' : argString(x))).join(' ');
    case 'pipe': {
      const decl = a.decl.length ? a.decl.join(', ') + (a.isAssign ? ' = ' : ' := ') : '';
      return decl + a.cmds.map(argString).join(' | ');
    }
  }
}

class ParseError extends Error {}

const isEmptyTree = (list: Node[]) => list.every((n) => n.k === 'text' && n.text.trim() === '');


class Parser {
  private i = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  private actionLine = 0;
  private lastLine = 1;

  /** Templates named by {{define}} and {{block}}. */
  readonly defs = new Map<string, Node[]>();

  constructor(private readonly items: Item[], private readonly name: string, private readonly hasFunc: (n: string) => boolean) {}

  parse(): Node[] {
    const root: Node[] = [];
    while (this.peek().typ !== T.EOF) {
      if (this.peek().typ === T.LeftDelim) {
        const save = this.i;
        const delim = this.next();
        if (this.nextNonSpace().typ === T.Define) {
          this.actionLine = delim.line;
          try { this.definition(); } finally { this.actionLine = 0; }
          continue;
        }
        this.i = save;
      }
      const n = this.textOrAction();
      if (typeof n === 'string') this.errorf(n === 'end' ? 'unexpected {{end}}' : 'unexpected {{else}}');
      root.push(n);
    }
    return root;
  }

  // ---- token helpers
  private next(): Item {
    const it = this.items[Math.min(this.i, this.items.length - 1)];
    this.i++;
    this.lastLine = it.line;
    if (it.typ === T.Error) this.unexpected(it, '');
    return it;
  }
  private backup(k = 1) { this.i -= k; }
  private peek(): Item { const it = this.next(); this.backup(); return it; }
  private nextNonSpace(): Item { let it; do { it = this.next(); } while (it.typ === T.Space); return it; }
  private peekNonSpace(): Item { const it = this.nextNonSpace(); this.backup(); return it; }

  errorf(msg: string): never {
    throw new ParseError(`template: ${this.name}:${this.lastLine}: ${msg}`);
  }
  private unexpected(it: Item, context: string): never {
    if (it.typ === T.Error) {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== it.line) {
        extra = ` in action started at ${this.name}:${this.actionLine}`;
        if (it.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.lastLine = it.line;
      this.errorf(it.val + extra);
    }
    this.errorf(`unexpected ${itemString(it)} in ${context}`);
  }
  private expect(typ: T, context: string): Item {
    const it = this.nextNonSpace();
    if (it.typ !== typ) this.unexpected(it, context);
    return it;
  }

  // ---- structure
  private textOrAction(): Node | 'end' | 'else' | 'elseif' | 'elsewith' {
    const it = this.nextNonSpace();
    if (it.typ === T.Text) return { k: 'text', text: it.val };
    if (it.typ === T.LeftDelim) {
      this.actionLine = it.line;
      try { return this.action(); } finally { this.actionLine = 0; }
    }
    this.unexpected(it, 'input');
  }

  private action(): Node | 'end' | 'else' | 'elseif' | 'elsewith' {
    const it = this.nextNonSpace();
    switch (it.typ) {
      case T.Break: case T.Continue: {
        const word = it.typ === T.Break ? 'break' : 'continue';
        const t = this.nextNonSpace();
        if (t.typ !== T.RightDelim) this.unexpected(t, `{{${word}}}`);
        if (this.rangeDepth === 0) this.errorf(`{{${word}}} outside {{range}}`);
        return { k: word, pos: it.pos };
      }
      case T.Else: {
        const p = this.peekNonSpace();
        if (p.typ === T.If) return 'elseif';
        if (p.typ === T.With) return 'elsewith';
        this.expect(T.RightDelim, 'else');
        return 'else';
      }
      case T.End:
        this.expect(T.RightDelim, 'end');
        return 'end';
      case T.If: return this.control('if');
      case T.With: return this.control('with');
      case T.Range: return this.control('range');
      case T.Block: return this.block();
      case T.Template: {
        const tok = this.nextNonSpace();
        const name = this.templateName(tok, 'template clause');
        let pipe: Pipe | null = null;
        if (this.nextNonSpace().typ !== T.RightDelim) {
          this.backup();
          pipe = this.pipeline('template clause', T.RightDelim);
        }
        return { k: 'template', pos: tok.pos, name, pipe };
      }
    }
    this.backup();
    const p = this.peek();
    return { k: 'action', pos: p.pos, pipe: this.pipeline('command', T.RightDelim) };
  }

  private templateName(tok: Item, context: string): string {
    if (tok.typ !== T.String && tok.typ !== T.RawString) this.unexpected(tok, context);
    const name = tok.typ === T.RawString ? tok.val.slice(1, -1) : unquote(tok.val);
    if (name === null) this.errorf('invalid syntax');
    return name;
  }

  /** Parse a body as a separate template (fresh variables, not inside a range) and record it. */
  private subTemplate(name: string, context: string) {
    const [vars, depth] = [this.vars, this.rangeDepth];
    this.vars = ['$'];
    this.rangeDepth = 0;
    try {
      const [list, end] = this.itemList();
      if (end !== 'end') this.errorf(`unexpected {{else}} in ${context}`);
      const old = this.defs.get(name);
      if (old && !isEmptyTree(old) && !isEmptyTree(list)) this.errorf(`template: multiple definition of template ${goQuote(name)}`);
      if (!old || isEmptyTree(old)) this.defs.set(name, list);
    } finally {
      this.vars = vars;
      this.rangeDepth = depth;
    }
  }

  private definition() {
    const name = this.templateName(this.nextNonSpace(), 'define clause');
    this.expect(T.RightDelim, 'define clause');
    this.subTemplate(name, 'define clause');
  }

  private block(): Node {
    const tok = this.nextNonSpace();
    const name = this.templateName(tok, 'block clause');
    const pipe = this.pipeline('block clause', T.RightDelim);
    this.subTemplate(name, 'block clause');
    return { k: 'template', pos: tok.pos, name, pipe };
  }

  private itemList(): [Node[], 'end' | 'else' | 'elseif' | 'elsewith'] {
    const list: Node[] = [];
    while (this.peekNonSpace().typ !== T.EOF) {
      const n = this.textOrAction();
      if (typeof n === 'string') return [list, n];
      list.push(n);
    }
    this.errorf('unexpected EOF');
  }

  private control(context: 'if' | 'with' | 'range'): Node {
    const nvars = this.vars.length;
    try {
      const pipe = this.pipeline(context, T.RightDelim);
      if (context === 'range') this.rangeDepth++;
      const [list, next] = this.itemList();
      if (context === 'range') this.rangeDepth--;
      let elseList: Node[] | null = null;
      if (next !== 'end') {
        if (next === 'elseif' && context === 'if') {
          this.nextNonSpace(); // the "if"
          elseList = [this.control('if')];
        } else if (next === 'elsewith' && context === 'with') {
          this.nextNonSpace();
          elseList = [this.control('with')];
        } else {
          // a plain {{else}}; for "else if" in a range the pending "if" fails as in Go
          const [l, n2] = this.itemList();
          if (n2 !== 'end') this.errorf(`expected end; found {{else}}`);
          elseList = l;
        }
      }
      return { k: context, pos: pipe.pos, pipe, list, elseList };
    } finally {
      this.vars.length = nvars;
    }
  }

  private pipeline(context: string, end: T): Pipe {
    const first = this.peekNonSpace();
    const pipe: Pipe = { k: 'pipe', pos: first.pos, line: first.line, decl: [], isAssign: false, cmds: [] };
    decls: for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== T.Variable) break;
      const save = this.i;
      this.nextNonSpace();
      const nxt = this.peekNonSpace();
      if (nxt.typ === T.Assign || nxt.typ === T.Declare) {
        pipe.isAssign = nxt.typ === T.Assign;
        this.nextNonSpace();
        pipe.decl.push(v.val);
        this.vars.push(v.val);
      } else if (nxt.typ === T.Char && nxt.val === ',') {
        this.nextNonSpace();
        pipe.decl.push(v.val);
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace().typ;
          if (p === T.Variable || p === T.RightDelim || p === T.RightParen) continue decls;
          this.errorf('range can only initialize variables');
        }
        this.errorf(`too many declarations in ${context}`);
      } else {
        this.i = save;
      }
      break;
    }
    for (;;) {
      const it = this.nextNonSpace();
      if (it.typ === end) {
        if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
        pipe.cmds.slice(1).forEach((c, i) => {
          const k = c.args[0].k;
          if (k === 'bool' || k === 'dot' || k === 'nil' || k === 'number' || k === 'string') {
            this.errorf(`non executable command in pipeline stage ${i + 2}`);
          }
        });
        return pipe;
      }
      switch (it.typ) {
        case T.Bool: case T.CharConstant: case T.Dot: case T.Field: case T.Identifier: case T.Number:
        case T.Nil: case T.RawString: case T.String: case T.Variable: case T.LeftParen:
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(it, context);
      }
    }
  }

  private command(): Cmd {
    const cmd: Cmd = { k: 'cmd', pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const op = this.operand();
      if (op) cmd.args.push(op);
      const it = this.next();
      if (it.typ === T.Space) continue;
      if (it.typ === T.RightDelim || it.typ === T.RightParen) this.backup();
      else if (it.typ !== T.Pipe) this.unexpected(it, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  private operand(): Arg | null {
    let node = this.term();
    if (!node) return null;
    if (this.peek().typ === T.Field) {
      const pos = this.peek().pos;
      const idents: string[] = [];
      while (this.peek().typ === T.Field) idents.push(this.next().val.slice(1));
      switch (node.k) {
        case 'field': node = { k: 'field', pos, idents: [...node.idents, ...idents] }; break;
        case 'var': node = { k: 'var', pos, idents: [...node.idents, ...idents] }; break;
        case 'bool': case 'string': case 'number': case 'nil': case 'dot':
          this.errorf(`unexpected . after term ${goQuote(argString(node))}`);
        // falls through (never reached)
        default: node = { k: 'chain', pos, node, idents };
      }
    }
    return node;
  }

  private term(): Arg | null {
    const it = this.nextNonSpace();
    switch (it.typ) {
      case T.Identifier:
        if (!this.hasFunc(it.val)) this.errorf(`function ${goQuote(it.val)} not defined`);
        return { k: 'ident', pos: it.pos, name: it.val };
      case T.Dot: return { k: 'dot', pos: it.pos };
      case T.Nil: return { k: 'nil', pos: it.pos };
      case T.Variable: {
        const name = it.val.split('.')[0];
        if (!this.vars.includes(name)) this.errorf(`undefined variable ${goQuote(name)}`);
        return { k: 'var', pos: it.pos, idents: [it.val] };
      }
      case T.Field: return { k: 'field', pos: it.pos, idents: [it.val.slice(1)] };
      case T.Bool: return { k: 'bool', pos: it.pos, val: it.val === 'true' };
      case T.CharConstant: case T.Number: return this.number(it);
      case T.LeftParen: return this.pipeline('parenthesized pipeline', T.RightParen);
      case T.String: case T.RawString: {
        const val = it.typ === T.RawString ? it.val.slice(1, -1).replace(/\r/g, '') : unquote(it.val);
        if (val === null) this.errorf('invalid syntax');
        return { k: 'string', pos: it.pos, quoted: it.val, val };
      }
    }
    this.backup();
    return null;
  }

  private number(it: Item): Arg {
    const text = it.val;
    if (it.typ === T.CharConstant) {
      const v = unquote('"' + text.slice(1, -1).replace(/^"$/, '\\"') + '"');
      const chars = v === null ? [] : [...v];
      if (chars.length !== 1) this.errorf(`malformed character constant: ${text}`);
      return { k: 'number', pos: it.pos, text, val: chars[0].codePointAt(0)!, isFloat: false };
    }
    if (text.endsWith('i')) this.errorf(`complex numbers are not supported: ${goQuote(text)}`);
    const clean = text.replace(/_/g, '');
    const sign = clean.startsWith('-') ? -1n : 1n;
    const body = clean.replace(/^[+-]/, '');
    const intLike = /^(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[0-9]+)$/.test(body);
    if (/^0[0-9]*[89]/.test(body) && /^[0-9]+$/.test(body)) this.errorf(`integer overflow: ${goQuote(text)}`);
    if (intLike) {
      const b = body.startsWith('0') && /^0[0-7]+$/.test(body) ? BigInt('0o' + body.slice(1)) : BigInt(body.replace(/^0[oO]/, '0o'));
      const v = sign * b;
      if (v > 18446744073709551615n || v < -9223372036854775808n) this.errorf(`integer overflow: ${goQuote(text)}`);
      return { k: 'number', pos: it.pos, text, val: Number.isSafeInteger(Number(v)) ? Number(v) : v, isFloat: false };
    }
    if (/^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(body) || /^0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*[pP][+-]?[0-9]+$/.test(body)) {
      let f = body.startsWith('0x') || body.startsWith('0X') ? parseHexFloat(body) : Number(body);
      if (sign < 0n) f = -f;
      if (!Number.isFinite(f)) this.errorf(`illegal number syntax: ${goQuote(text)}`);
      return { k: 'number', pos: it.pos, text, val: f, isFloat: true };
    }
    this.errorf(`illegal number syntax: ${goQuote(text)}`);
  }
}

function parseHexFloat(s: string): number {
  const m = /^0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?[0-9]+)$/.exec(s)!;
  const mant = parseInt((m[1] || '0') + (m[2] || ''), 16);
  return mant * Math.pow(2, Number(m[3]) - 4 * (m[2] || '').length);
}

/** strconv.Unquote for a double-quoted Go string; null when malformed. */
function unquote(q: string): string | null {
  if (q.length < 2 || q[0] !== '"' || q[q.length - 1] !== '"') return null;
  const s = q.slice(1, -1);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"' || c === '\n') return null;
    if (c !== '\\') { out += c; continue; }
    const e = s[++i];
    switch (e) {
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case 'x': case 'u': case 'U': {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const h = s.slice(i + 1, i + 1 + len);
        if (h.length !== len || !/^[0-9a-fA-F]+$/.test(h)) return null;
        const cp = parseInt(h, 16);
        if (e === 'x') {
          // a raw byte: fine for ASCII; others become U+FFFD when not valid UTF-8
          out += cp < 0x80 ? String.fromCharCode(cp) : '\ufffd';
        } else {
          if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
          out += String.fromCodePoint(cp);
        }
        i += len;
        break;
      }
      default: {
        if (e >= '0' && e <= '7') {
          const o = s.slice(i, i + 3);
          if (!/^[0-7]{3}$/.test(o)) return null;
          const v = parseInt(o, 8);
          if (v > 255) return null;
          out += v < 0x80 ? String.fromCharCode(v) : '\ufffd';
          i += 2;
          break;
        }
        return null;
      }
    }
  }
  return out;
}

// ============================================================== execution

/** An invalid reflect.Value: what a missing map key yields. */
const MISSING: undefined = undefined;
const NO_FINAL = Symbol('noFinal');
type Final = unknown | typeof NO_FINAL;

class ExecError extends Error {}
class BreakSignal {}
class ContinueSignal {}
/** An error raised inside a function body; wrapped as "error calling NAME: …". */
export class FuncError extends Error {}

interface BuiltinSpec {
  /** parameter kinds: s string, i int, a any, S []string; a trailing '*' makes the last one variadic */
  params: string;
  fn: (...args: any[]) => unknown;
}

function truth(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  switch (typeof v) {
    case 'boolean': return v;
    case 'number': return v !== 0;
    case 'bigint': return v !== 0n;
    case 'string': return v.length > 0;
    case 'function': return true;
  }
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Date) return true;
  return Object.keys(v as object).length > 0;
}

type Kind = 'bool' | 'int' | 'float' | 'string' | 'invalid' | 'other';
function basicKind(v: unknown): Kind {
  if (v === undefined || v === null) return 'invalid';
  if (typeof v === 'boolean') return 'bool';
  if (isInt(v)) return 'int';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'string') return 'string';
  return 'other';
}

function eqFn(a: unknown, ...rest: unknown[]): boolean {
  if (rest.length === 0) throw new FuncError('missing argument for comparison');
  const k1 = basicKind(a);
  for (const b of rest) {
    const k2 = basicKind(b);
    let t = false;
    if (k1 === 'invalid' || k2 === 'invalid') {
      t = (a === null || a === undefined) && (b === null || b === undefined);
    } else if (k1 === 'other' || k2 === 'other') {
      if (k1 !== k2) throw new FuncError('incompatible types for comparison');
      throw new FuncError(`non-comparable type ${formatValue(b)}: ${goTypeName(b)}`);
    } else if ((k1 === 'int' || k1 === 'float') && (k2 === 'int' || k2 === 'float')) {
      t = Number(a) === Number(b);
    } else if (k1 !== k2) {
      throw new FuncError('incompatible types for comparison');
    } else {
      t = a === b;
    }
    if (t) return true;
  }
  return false;
}

function ltFn(a: unknown, b: unknown): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (k1 === 'other' || k1 === 'invalid' || k2 === 'other' || k2 === 'invalid') throw new FuncError('invalid type for comparison');
  const n1 = k1 === 'int' || k1 === 'float';
  const n2 = k2 === 'int' || k2 === 'float';
  if (k1 !== k2 && !(n1 && n2)) throw new FuncError('incompatible types for comparison');
  if (k1 === 'bool') throw new FuncError('invalid type for comparison');
  if (n1) return Number(a) < Number(b);
  return byteCompare(a as string, b as string) < 0;
}

function lenFn(v: unknown): number {
  if (v === null || v === undefined) throw new FuncError('len of nil pointer');
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (Array.isArray(v)) return v.length;
  if (typeof v === 'object' && !(v instanceof Date)) return Object.keys(v).length;
  throw new FuncError(`len of type ${goTypeName(v)}`);
}

function indexArg(idx: unknown, cap: number): number {
  if (idx === null || idx === undefined) throw new FuncError('cannot index slice/array with nil');
  if (!isInt(idx)) throw new FuncError(`cannot index slice/array with type ${goTypeName(idx)}`);
  const x = Number(idx);
  if (x < 0 || x >= cap) throw new FuncError(`index out of range: ${x}`);
  return x;
}

function indexFn(item: unknown, ...indexes: unknown[]): unknown {
  let v = item;
  if (v === undefined) throw new FuncError('index of untyped nil');
  for (const idx of indexes) {
    if (v === null) {
      // a nil map yields the zero value; a nil slice is out of range
      if (typeof idx === 'string') { v = ''; continue; }
      throw new FuncError('index of nil pointer');
    }
    if (Array.isArray(v)) { v = v[indexArg(idx, v.length)]; continue; }
    if (typeof v === 'string') { v = Buffer.from(v, 'utf8')[indexArg(idx, Buffer.byteLength(v, 'utf8'))]; continue; }
    if (typeof v === 'object' && !(v instanceof Date)) {
      if (typeof idx !== 'string') throw new FuncError(`value has type ${goTypeName(idx)}; should be string`);
      const o = v as Record<string, unknown>;
      if (Object.prototype.hasOwnProperty.call(o, idx)) { v = o[idx]; continue; }
      // zero value of the element type: "" for string maps (labels), <no value> otherwise
      const vals = Object.values(o);
      v = vals.every((x) => typeof x === 'string') ? '' : MISSING;
      continue;
    }
    throw new FuncError(`can't index item of type ${goTypeName(v)}`);
  }
  return v;
}

function sliceFn(item: unknown, ...indexes: unknown[]): unknown {
  if (item === undefined || item === null) throw new FuncError('slice of untyped nil');
  if (indexes.length > 3) throw new FuncError(`too many slice indexes: ${indexes.length}`);
  let len: number;
  if (typeof item === 'string') {
    if (indexes.length === 3) throw new FuncError('cannot 3-index slice a string');
    len = Buffer.byteLength(item, 'utf8');
  } else if (Array.isArray(item)) len = item.length;
  else throw new FuncError(`can't slice item of type ${goTypeName(item)}`);
  const idx = [0, len];
  indexes.forEach((x, i) => { idx[i] = indexArg(x, len + 1); });
  if (idx[0] > idx[1]) throw new FuncError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (typeof item === 'string') return Buffer.from(item, 'utf8').subarray(idx[0], idx[1]).toString('utf8');
  return item.slice(idx[0], idx[1]);
}

function evalArgsString(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args);
}

function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => ({ '\0': '\ufffd', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

function jsEscape(s: string): string {
  let out = '';
  for (const c of s) {
    switch (c) {
      case '\\': out += '\\\\'; break;
      case "'": out += "\\'"; break;
      case '"': out += '\\"'; break;
      case '<': out += '\\u003C'; break;
      case '>': out += '\\u003E'; break;
      case '&': out += '\\u0026'; break;
      case '=': out += '\\u003D'; break;
      default: {
        const cp = c.codePointAt(0)!;
        if (cp < 0x20) out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
        else out += c;
      }
    }
  }
  return out;
}

function urlQueryEscape(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

// docker's template helpers (cli/templates): Go semantics, byte-based where Go is.
const upperRune = (c: string) => { const u = c.toUpperCase(); return [...u].length === 1 ? u : c; };
const lowerRune = (c: string) => { const u = c.toLowerCase(); return [...u].length === 1 ? u : c; };
function titleCase(s: string): string {
  let prev = ' ';
  let out = '';
  for (const c of s) {
    out += isSeparator(prev) ? upperRune(c) : c;
    prev = c;
  }
  return out;
}
function isSeparator(c: string): boolean {
  const cp = c.codePointAt(0)!;
  if (cp <= 0x7f) return !/[0-9A-Za-z_]/.test(c);
  if (/[\p{L}\p{Nd}]/u.test(c)) return false;
  return /\s/u.test(c);
}
function goSplit(s: string, sep: string): string[] {
  if (sep === '') return [...s];
  return s.split(sep);
}
function truncateBytes(s: string, n: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length < n) return s;
  return b.subarray(0, Math.max(0, n)).toString('utf8');
}

export const BUILTINS: Record<string, BuiltinSpec> = {
  and: { params: 'aa*', fn: () => undefined }, // evaluated lazily
  or: { params: 'aa*', fn: () => undefined },
  not: { params: 'a', fn: (v: unknown) => !truth(v) },
  len: { params: 'a', fn: lenFn },
  index: { params: 'aa*', fn: indexFn },
  slice: { params: 'aa*', fn: sliceFn },
  print: { params: 'a*', fn: (...a: unknown[]) => sprint(a) },
  printf: { params: 'sa*', fn: (f: string, ...a: unknown[]) => sprintf(f, a) },
  println: { params: 'a*', fn: (...a: unknown[]) => sprintln(a) },
  html: { params: 'a*', fn: (...a: unknown[]) => htmlEscape(evalArgsString(a)) },
  js: { params: 'a*', fn: (...a: unknown[]) => jsEscape(evalArgsString(a)) },
  urlquery: { params: 'a*', fn: (...a: unknown[]) => urlQueryEscape(evalArgsString(a)) },
  call: {
    params: 'aa*', fn: (f: unknown, ...a: unknown[]) => {
      if (typeof f !== 'function') throw new FuncError(`non-function of type ${goTypeName(f)}`);
      return f(...a);
    },
  },
  eq: { params: 'aa*', fn: eqFn },
  ne: { params: 'aa', fn: (a: unknown, b: unknown) => !eqFn(a, b) },
  lt: { params: 'aa', fn: ltFn },
  le: { params: 'aa', fn: (a: unknown, b: unknown) => ltFn(a, b) || eqFn(a, b) },
  gt: { params: 'aa', fn: (a: unknown, b: unknown) => !(ltFn(a, b) || eqFn(a, b)) },
  ge: { params: 'aa', fn: (a: unknown, b: unknown) => !ltFn(a, b) },
  // docker
  json: { params: 'a', fn: (v: unknown) => goJson(v) },
  split: { params: 'ss', fn: goSplit },
  join: { params: 'Ss', fn: (a: string[], sep: string) => a.join(sep) },
  title: { params: 's', fn: titleCase },
  lower: { params: 's', fn: (s: string) => [...s].map(lowerRune).join('') },
  upper: { params: 's', fn: (s: string) => [...s].map(upperRune).join('') },
  pad: { params: 'sii', fn: (s: string, pre: number, suf: number) => (s === '' ? s : ' '.repeat(Math.max(0, pre)) + s + ' '.repeat(Math.max(0, suf))) },
  truncate: { params: 'si', fn: truncateBytes },
};

/** docker's HeaderFunctions: for the table header, these return their (string) argument unchanged. */
export const HEADER_FUNCS: Record<string, TemplateFunc> = {
  json: (v: string) => v,
  split: (v: string, _sep: string) => v,
  join: (v: string, _sep: string) => v,
  title: (v: string) => v,
  lower: (v: string) => v,
  upper: (v: string) => v,
  truncate: (v: string, _n: number) => v,
};
const HEADER_PARAMS: Record<string, string> = { json: 's', split: 'ss', join: 'ss', title: 's', lower: 's', upper: 's', truncate: 'si' };

const GO_PARAM_TYPE: Record<string, string> = { s: 'string', i: 'int', S: '[]string', a: 'interface {}' };

interface Frame { name: string; value: unknown }

class Exec {
  private vars: Frame[];
  private node: { pos: number; str: string } = { pos: 0, str: '' };
  private current: string;
  private depth = 0;
  out = '';

  constructor(
    private readonly src: string,
    private readonly name: string,
    private readonly funcs: Record<string, TemplateFunc>,
    private readonly specs: Record<string, string>,
    private readonly missingKey: 'default' | 'zero' | 'error',
    private readonly structType: ((o: object) => string | undefined) | undefined,
    private readonly defs: Map<string, Node[]>,
    root: unknown,
  ) {
    this.vars = [{ name: '$', value: root }];
    this.current = name;
  }

  private at(n: { pos: number }, str: string) { this.node = { pos: n.pos, str }; }

  errorf(msg: string): never {
    const before = this.src.slice(0, this.node.pos);
    const nl = before.lastIndexOf('\n');
    const lineNum = countNL(before) + 1;
    const col = Buffer.byteLength(nl < 0 ? before : before.slice(nl + 1), 'utf8');
    throw new ExecError(`template: ${this.name}:${lineNum}:${col}: executing ${goQuote(this.current)} at <${this.node.str}>: ${msg}`);
  }

  walk(dot: unknown, list: Node[]): void {
    for (const n of list) this.walkNode(dot, n);
  }

  private walkNode(dot: unknown, n: Node): void {
    switch (n.k) {
      case 'text': this.out += n.text; return;
      case 'action': {
        const v = this.evalPipeline(dot, n.pipe);
        if (n.pipe.decl.length === 0) this.printValue(n.pipe, v);
        return;
      }
      case 'if': case 'with': {
        const mark = this.vars.length;
        try {
          const v = this.evalPipeline(dot, n.pipe);
          if (truth(v)) this.walk(n.k === 'with' ? v : dot, n.list);
          else if (n.elseList) this.walk(dot, n.elseList);
        } finally { this.vars.length = mark; }
        return;
      }
      case 'range': this.walkRange(dot, n); return;
      case 'template': {
        this.at(n, `{{template ${goQuote(n.name)}${n.pipe ? ' ' + argString(n.pipe) : ''}}}`);
        const body = this.defs.get(n.name);
        if (!body) this.errorf(`template ${goQuote(n.name)} not defined`);
        // Go allows 100000 levels; a JS stack holds far fewer, so stop earlier with Go's message
        if (this.depth >= 1000) this.errorf('exceeded maximum template depth (100000)');
        const value = n.pipe ? this.evalPipeline(dot, n.pipe) : MISSING;
        const [vars, current] = [this.vars, this.current];
        this.vars = [{ name: '$', value }];
        this.current = n.name;
        this.depth++;
        try { this.walk(value, body); } finally { this.vars = vars; this.current = current; this.depth--; }
        return;
      }
      case 'break': throw new BreakSignal();
      case 'continue': throw new ContinueSignal();
    }
  }

  private walkRange(dot: unknown, r: ControlNode): void {
    this.at(r, argString(r.pipe));
    const mark0 = this.vars.length;
    try {
      const val = this.evalPipeline(dot, r.pipe);
      const mark = this.vars.length;
      const decl = r.pipe.decl;
      const one = (index: unknown, elem: unknown): boolean => {
        if (decl.length > 0) {
          if (r.pipe.isAssign) this.setVar(decl.length > 1 ? decl[0] : decl[0], decl.length > 1 ? index : elem);
          else this.vars[this.vars.length - 1].value = elem;
        }
        if (decl.length > 1) {
          if (r.pipe.isAssign) this.setVar(decl[1], elem);
          else this.vars[this.vars.length - 2].value = index;
        }
        try {
          this.walk(elem, r.list);
        } catch (e) {
          if (e instanceof BreakSignal) return false;
          if (!(e instanceof ContinueSignal)) throw e;
        } finally {
          this.vars.length = mark;
        }
        return true;
      };
      let iterated = false;
      if (Array.isArray(val)) {
        for (let i = 0; i < val.length; i++) { iterated = true; if (!one(i, val[i])) break; }
      } else if (isInt(val)) {
        if (decl.length > 1) { this.at(r, argString(r.pipe)); this.errorf(`can't use ${formatValue(val)} to iterate over more than one variable`); }
        for (let i = 0; i < Number(val); i++) { iterated = true; if (!one(i, i)) break; }
      } else if (val !== null && val !== undefined && typeof val === 'object' && !(val instanceof Date)) {
        const o = val as Record<string, unknown>;
        for (const k of sortedKeys(o)) { iterated = true; if (!one(k, o[k])) break; }
      } else if (val !== null && val !== undefined) {
        const last = r.pipe.cmds[r.pipe.cmds.length - 1].args[0];
        this.at(last, argString(last));
        this.errorf(`range can't iterate over ${formatValue(val)}`);
      }
      if (!iterated && r.elseList) this.walk(dot, r.elseList);
    } finally {
      this.vars.length = mark0;
    }
  }

  private setVar(name: string, value: unknown) {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) { this.vars[i].value = value; return; }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  private varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    this.errorf(`undefined variable: ${name}`);
  }

  private printValue(p: Pipe, v: unknown) {
    if (v === undefined) { this.out += '<no value>'; return; }
    if (typeof v === 'function') { this.at(p, argString(p)); this.errorf(`can't print ${argString(p)} of type func()`); }
    this.out += formatValue(v);
  }

  evalPipeline(dot: unknown, pipe: Pipe): unknown {
    this.at(pipe, argString(pipe));
    let value: Final = NO_FINAL;
    for (const cmd of pipe.cmds) value = this.evalCommand(dot, cmd, value);
    if (value === NO_FINAL) value = MISSING;
    for (const name of pipe.decl) {
      if (pipe.isAssign) this.setVar(name, value);
      else this.vars.push({ name, value });
    }
    return value;
  }

  private notAFunction(args: Arg[], final: Final) {
    if (args.length > 1 || final !== NO_FINAL) this.errorf(`can't give argument to non-function ${argString(args[0])}`);
  }

  private evalCommand(dot: unknown, cmd: Cmd, final: Final): unknown {
    const first = cmd.args[0];
    switch (first.k) {
      case 'field':
        this.at(first, argString(first));
        return this.evalFieldChain(dot, dot, first, first.idents, cmd.args, final);
      case 'chain': return this.evalChain(dot, first, cmd.args, final);
      case 'ident': return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.at(first, argString(first));
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'var': return this.evalVariable(dot, first, cmd.args, final);
    }
    this.at(first, argString(first));
    this.notAFunction(cmd.args, final);
    switch (first.k) {
      case 'bool': return first.val;
      case 'dot': return dot;
      case 'nil': this.errorf('nil is not a command');
      // falls through (never reached)
      case 'number': return first.val;
      case 'string': return first.val;
    }
  }

  private evalChain(dot: unknown, chain: Extract<Arg, { k: 'chain' }>, args: Arg[], final: Final): unknown {
    this.at(chain, argString(chain));
    if (chain.node.k === 'nil') this.errorf(`indirection through explicit nil in ${argString(chain)}`);
    const recv = this.evalArg(dot, 'a', chain.node);
    this.at(chain, argString(chain));
    return this.evalFieldChain(dot, recv, chain, chain.idents, args, final);
  }

  private evalVariable(dot: unknown, v: Extract<Arg, { k: 'var' }>, args: Arg[], final: Final): unknown {
    this.at(v, argString(v));
    const value = this.varValue(v.idents[0]);
    if (v.idents.length === 1) { this.notAFunction(args, final); return value; }
    return this.evalFieldChain(dot, value, v, v.idents.slice(1), args, final);
  }

  private evalFieldChain(dot: unknown, recv: unknown, node: Arg, idents: string[], args: Arg[], final: Final): unknown {
    const str = argString(node);
    for (let i = 0; i < idents.length - 1; i++) recv = this.evalField(dot, idents[i], node, str, [], NO_FINAL, recv);
    return this.evalField(dot, idents[idents.length - 1], node, str, args, final, recv);
  }

  private evalField(dot: unknown, name: string, node: Arg, str: string, args: Arg[], final: Final, recv: unknown): unknown {
    if (recv === undefined) {
      if (this.missingKey === 'error') { this.at(node, str); this.errorf(`nil data; no entry for key ${goQuote(name)}`); }
      return MISSING;
    }
    if (recv === null) {
      // Go errors on a nil pointer/interface but yields <no value> for a nil map; JSON can't
      // tell them apart, so be lenient unless asked for strictness.
      if (this.missingKey === 'error') { this.at(node, str); this.errorf(`nil pointer evaluating interface {}.${name}`); }
      return MISSING;
    }
    const hasArgs = args.length > 1 || final !== NO_FINAL;
    if (Array.isArray(recv)) { this.at(node, str); this.errorf(`can't evaluate field ${name} in type []interface {}`); }
    if (typeof recv === 'object' && !(recv instanceof Date)) {
      const o = recv as Record<string, unknown>;
      const own = Object.prototype.hasOwnProperty.call(o, name);
      const inherited = !own && Object.getPrototypeOf(o) !== Object.prototype && Object.getPrototypeOf(o) !== null && name in o && !(name in Object.prototype);
      if (own || inherited) {
        const v = o[name];
        if (typeof v === 'function') return this.evalCall(dot, (...a: unknown[]) => (v as TemplateFunc).apply(o, a), null, node, name, args, final);
        if (hasArgs) { this.at(node, str); this.errorf(`${name} is not a method but has arguments`); }
        return v;
      }
      const st = this.structType?.(o);
      if (st !== undefined) { this.at(node, str); this.errorf(`can't evaluate field ${name} in type ${st}`); }
      if (hasArgs) { this.at(node, str); this.errorf(`${name} is not a method but has arguments`); }
      if (this.missingKey === 'error') { this.at(node, str); this.errorf(`map has no entry for key ${goQuote(name)}`); }
      return MISSING;
    }
    this.at(node, str);
    this.errorf(`can't evaluate field ${name} in type ${goTypeName(recv)}`);
  }

  private evalFunction(dot: unknown, id: Extract<Arg, { k: 'ident' }>, cmd: Cmd, args: Arg[], final: Final): unknown {
    this.at(id, id.name);
    const f = this.funcs[id.name];
    if (!f) this.errorf(`${goQuote(id.name)} is not a defined function`);
    return this.evalCall(dot, f, this.specs[id.name] ?? null, cmd, id.name, args, final);
  }

  /** Evaluate an argument node, checking it against a parameter kind (s, i, S, a). */
  private evalArg(dot: unknown, kind: string, n: Arg): unknown {
    this.at(n, argString(n));
    let v: unknown;
    switch (n.k) {
      case 'dot': v = dot; break;
      case 'nil':
        if (kind === 'a' || kind === 'S') return null;
        this.errorf(`cannot assign nil to ${GO_PARAM_TYPE[kind]}`);
      // falls through (never reached)
      case 'field': v = this.evalFieldChain(dot, dot, n, n.idents, [n], NO_FINAL); break;
      case 'var': v = this.evalVariable(dot, n, [], NO_FINAL); break;
      case 'pipe': v = this.evalPipeline(dot, n); break;
      case 'ident': v = this.evalFunction(dot, n, { k: 'cmd', pos: n.pos, args: [n] }, [n], NO_FINAL); break;
      case 'chain': v = this.evalChain(dot, n, [], NO_FINAL); break;
      default:
        // literals are checked against the parameter type by their syntax
        switch (kind) {
          case 's': if (n.k === 'string') return n.val; this.errorf(`expected string; found ${argString(n)}`);
          // falls through (never reached)
          case 'i': if (n.k === 'number' && !n.isFloat) return n.val; this.errorf(`expected integer; found ${argString(n)}`);
          // falls through (never reached)
          case 'S': this.errorf(`can't handle ${argString(n)} for arg of type []string`);
          // falls through (never reached)
          default:
            return n.k === 'bool' || n.k === 'number' || n.k === 'string' ? n.val : undefined;
        }
    }
    this.at(n, argString(n));
    return this.validate(v, kind);
  }

  private validate(v: unknown, kind: string): unknown {
    if (kind === 'a') return v === undefined ? null : v;
    if (v === undefined || (v === null && kind !== 'S')) this.errorf(`invalid value; expected ${GO_PARAM_TYPE[kind]}`);
    switch (kind) {
      case 's': if (typeof v === 'string') return v; break;
      case 'i': if (isInt(v)) return Number(v); break;
      case 'S':
        if (v === null) return [];
        if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
        break;
    }
    this.errorf(`wrong type for value; expected ${GO_PARAM_TYPE[kind]}; got ${goTypeName(v)}`);
  }

  private evalCall(dot: unknown, fn: TemplateFunc, spec: string | null, node: Arg | Cmd, name: string, args: Arg[], final: Final): unknown {
    const argNodes = args.slice(1);
    const nargs = argNodes.length + (final !== NO_FINAL ? 1 : 0);
    const nodeStr = argString(node);
    let values: unknown[];
    if (spec !== null) {
      const variadic = spec.endsWith('*');
      const kinds = variadic ? spec.slice(0, -1) : spec;
      const fixed = variadic ? kinds.length - 1 : kinds.length;
      if (variadic ? nargs < fixed : nargs !== fixed) {
        this.errorf(`wrong number of args for ${name}: want ${variadic ? 'at least ' : ''}${fixed} got ${variadic ? argNodes.length : nargs}`);
      }
      const kindOf = (i: number) => (i < kinds.length ? kinds[i] : kinds[kinds.length - 1]);
      if (this.funcs[name] === BUILTINS.and.fn || this.funcs[name] === BUILTINS.or.fn) {
        // and/or short-circuit: evaluate arguments one by one
        const isAnd = this.funcs[name] === BUILTINS.and.fn;
        let v: unknown;
        const all = [...argNodes];
        for (let i = 0; i < nargs; i++) {
          v = i < all.length ? this.evalArg(dot, 'a', all[i]) : final;
          if (v === undefined) v = null;
          if (truth(v) !== isAnd) return v;
        }
        return v;
      }
      values = argNodes.map((a, i) => this.evalArg(dot, kindOf(i), a));
      if (final !== NO_FINAL) { this.at(node, nodeStr); values.push(this.validate(final, kindOf(argNodes.length))); }
    } else {
      values = argNodes.map((a) => this.evalArg(dot, 'a', a));
      if (final !== NO_FINAL) values.push(final === undefined ? null : final);
    }
    try {
      return fn(...values);
    } catch (e) {
      if (e instanceof ExecError || e instanceof BreakSignal || e instanceof ContinueSignal) throw e;
      this.at(node, nodeStr);
      this.errorf(`error calling ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/** A parsed template that can be executed many times, with the default or other function sets. */
export class Template {
  private constructor(
    private readonly src: string,
    private readonly tree: Node[],
    private readonly defs: Map<string, Node[]>,
    private readonly funcs: Record<string, TemplateFunc>,
    private readonly specs: Record<string, string>,
    private readonly opts: TemplateOptions & { name: string; missingKey: 'default' | 'zero' | 'error' },
  ) {}

  /** Parse `src`; throws TemplateError (kind "parse", message `template parsing error: template: …`). */
  static parse(src: string, funcs: Record<string, TemplateFunc> = {}, options: TemplateOptions = {}): Template {
    const opts = { ...options, name: options.name ?? '', missingKey: options.missingKey ?? 'default' };
    const all: Record<string, TemplateFunc> = {};
    const specs: Record<string, string> = {};
    for (const [k, b] of Object.entries(BUILTINS)) { all[k] = b.fn; specs[k] = b.params; }
    for (const [k, f] of Object.entries(funcs)) { all[k] = f; delete specs[k]; }
    const has = (n: string) => Object.prototype.hasOwnProperty.call(all, n);
    try {
      const parser = new Parser(lex(src), opts.name, has);
      const tree = parser.parse();
      return new Template(src, tree, parser.defs, all, specs, opts);
    } catch (e) {
      if (e instanceof ParseError) throw new TemplateError('parse', e.message);
      throw e;
    }
  }

  /**
   * Run the template over `data`. Throws TemplateError (kind "exec") whose `partial`
   * holds what was written before the failure. `overrides` replaces functions by name
   * (used for docker's table headers).
   */
  execute(data: unknown, overrides?: Record<string, TemplateFunc>, overrideSpecs?: Record<string, string>, structType?: (o: object) => string | undefined): string {
    let funcs = this.funcs;
    let specs = this.specs;
    if (overrides) {
      funcs = { ...this.funcs, ...overrides };
      specs = { ...this.specs };
      for (const k of Object.keys(overrides)) {
        if (overrideSpecs?.[k]) specs[k] = overrideSpecs[k]; else delete specs[k];
      }
    }
    const ex = new Exec(this.src, this.opts.name, funcs, specs, this.opts.missingKey, structType ?? this.opts.structType, this.defs, data);
    try {
      ex.walk(data, this.tree);
    } catch (e) {
      if (e instanceof ExecError) {
        const err = new TemplateError('exec', e.message);
        err.partial = ex.out;
        throw err;
      }
      throw e;
    }
    return ex.out;
  }

  /** Execute with docker's header functions (json/upper/… return their argument). */
  executeHeader(header: unknown): string {
    return this.execute(header, HEADER_FUNCS, HEADER_PARAMS);
  }
}

/** Compile a Go template; the returned function renders it over a value. */
export function compileTemplate(src: string, funcs?: Record<string, TemplateFunc>, options?: TemplateOptions): (data: unknown) => string {
  const t = Template.parse(src, funcs, options);
  return (data: unknown) => t.execute(data);
}
