/**
 * The parser of the Go text/template work-alike: items from lex.ts into the tree
 * of ast.ts, with Go's checks at parse time (undefined functions and variables,
 * {{break}} outside {{range}}, number syntax, {{define}}/{{block}} bodies) and
 * its error messages ("template: NAME:LINE: …").
 *
 * Over 400 lines because it is one recursive-descent parser whose productions call each other, as Go's parse.go.
 */
import { goQuote } from '../go-quote.js';
import { argString, type Arg, type Cmd, type Node, type Pipe } from './ast.js';
import { itemString, T, type Item } from './lex.js';
import { parseHexFloat, unquote } from './literals.js';

export class ParseError extends Error {}

const isEmptyTree = (list: Node[]) => list.every((n) => n.k === 'text' && n.text.trim() === '');

export class Parser {
  private i = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  private actionLine = 0;
  private lastLine = 1;

  /** Templates named by {{define}} and {{block}}. */
  readonly defs = new Map<string, Node[]>();

  constructor(
    private readonly items: Item[],
    private readonly name: string,
    private readonly hasFunc: (n: string) => boolean,
  ) {}

  parse(): Node[] {
    const root: Node[] = [];
    while (this.peek().typ !== T.EOF) {
      if (this.peek().typ === T.LeftDelim) {
        const save = this.i;
        const delim = this.next();
        if (this.nextNonSpace().typ === T.Define) {
          this.actionLine = delim.line;
          try {
            this.definition();
          } finally {
            this.actionLine = 0;
          }
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
  private backup(k = 1) {
    this.i -= k;
  }
  private peek(): Item {
    const it = this.next();
    this.backup();
    return it;
  }
  private nextNonSpace(): Item {
    let it;
    do {
      it = this.next();
    } while (it.typ === T.Space);
    return it;
  }
  private peekNonSpace(): Item {
    const it = this.nextNonSpace();
    this.backup();
    return it;
  }

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
      try {
        return this.action();
      } finally {
        this.actionLine = 0;
      }
    }
    this.unexpected(it, 'input');
  }

  private action(): Node | 'end' | 'else' | 'elseif' | 'elsewith' {
    const it = this.nextNonSpace();
    switch (it.typ) {
      case T.Break:
      case T.Continue: {
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
      case T.If:
        return this.control('if');
      case T.With:
        return this.control('with');
      case T.Range:
        return this.control('range');
      case T.Block:
        return this.block();
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
    for (;;) {
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
          if (p === T.Variable || p === T.RightDelim || p === T.RightParen) continue;
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
        case T.Bool:
        case T.CharConstant:
        case T.Dot:
        case T.Field:
        case T.Identifier:
        case T.Number:
        case T.Nil:
        case T.RawString:
        case T.String:
        case T.Variable:
        case T.LeftParen:
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
        case 'field':
          node = { k: 'field', pos, idents: [...node.idents, ...idents] };
          break;
        case 'var':
          node = { k: 'var', pos, idents: [...node.idents, ...idents] };
          break;
        case 'bool':
        case 'string':
        case 'number':
        case 'nil':
        case 'dot':
          this.errorf(`unexpected . after term ${goQuote(argString(node))}`);
        // falls through (never reached)
        default:
          node = { k: 'chain', pos, node, idents };
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
      case T.Dot:
        return { k: 'dot', pos: it.pos };
      case T.Nil:
        return { k: 'nil', pos: it.pos };
      case T.Variable: {
        const name = it.val.split('.')[0];
        if (!this.vars.includes(name)) this.errorf(`undefined variable ${goQuote(name)}`);
        return { k: 'var', pos: it.pos, idents: [it.val] };
      }
      case T.Field:
        return { k: 'field', pos: it.pos, idents: [it.val.slice(1)] };
      case T.Bool:
        return { k: 'bool', pos: it.pos, val: it.val === 'true' };
      case T.CharConstant:
      case T.Number:
        return this.number(it);
      case T.LeftParen:
        return this.pipeline('parenthesized pipeline', T.RightParen);
      case T.String:
      case T.RawString: {
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
