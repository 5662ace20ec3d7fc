/**
 * The lexer of the Go text/template work-alike: turns a `--format` string into
 * items (text, delimiters, fields, variables, literals, keywords), with Go's
 * trim markers (`{{- -}}`), comments and its lexer error messages, which the
 * parser reports as `template: NAME:LINE: …`.
 *
 * Over 400 lines because it is one state machine (Go's lex.go) whose states are closures over one position and item list.
 */
import { goQuote } from '../go-quote.js';

export enum T {
  Error,
  EOF,
  Text,
  LeftDelim,
  RightDelim,
  Space,
  Field,
  Variable,
  Identifier,
  String,
  RawString,
  Char,
  CharConstant,
  Number,
  Bool,
  Pipe,
  Declare,
  Assign,
  LeftParen,
  RightParen,
  // keywords (all after Keyword; Go prints them as <word>)
  Keyword,
  Block,
  Break,
  Continue,
  Dot,
  Define,
  Else,
  End,
  If,
  Nil,
  Range,
  Template,
  With,
}

const KEYWORDS: Record<string, T> = {
  block: T.Block,
  break: T.Break,
  continue: T.Continue,
  define: T.Define,
  else: T.Else,
  end: T.End,
  if: T.If,
  range: T.Range,
  nil: T.Nil,
  template: T.Template,
  with: T.With,
};

export interface Item {
  typ: T;
  val: string;
  pos: number;
  line: number;
}

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string | undefined) => c !== undefined && (c === '_' || /^[\p{L}\p{Nd}]$/u.test(c));

export function itemString(it: Item): string {
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

export function lex(input: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  let start = 0;
  let line = 1;
  let startLine = 1;
  let parenDepth = 0;
  const n = input.length;

  const emitAs = (typ: T, val: string) => {
    items.push({ typ, val, pos: start, line: startLine });
    start = pos;
    startLine = line;
  };
  const emit = (typ: T) => emitAs(typ, input.slice(start, pos));
  const ignore = () => {
    start = pos;
    startLine = line;
  };
  const advance = (k: number) => {
    line += countNL(input.slice(pos, pos + k));
    pos += k;
  };
  const fail = (msg: string) => {
    items.push({ typ: T.Error, val: msg, pos: start, line: startLine });
  };
  const next = (): string | undefined => {
    if (pos >= n) {
      pos = n + 1;
      return undefined;
    }
    const c = String.fromCodePoint(input.codePointAt(pos)!);
    pos += c.length;
    if (c === '\n') line++;
    return c;
  };
  const backup = (c: string | undefined) => {
    if (c === undefined) {
      pos = n;
      return;
    }
    pos -= c.length;
    if (c === '\n') line--;
  };
  const peek = () => {
    const c = next();
    backup(c);
    return c;
  };
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
  const trimLeadingSpace = () => {
    while (pos < n && isSpace(input[pos])) advance(1);
  };
  /** Scans to the closing quote of a "…" string or '…' character constant; false at a newline or the end. */
  const scanQuoted = (quote: string): boolean => {
    for (;;) {
      let c = next();
      if (c === '\\') {
        c = next();
        if (c !== undefined && c !== '\n') continue;
      }
      if (c === undefined || c === '\n') return false;
      if (c === quote) return true;
    }
  };
  /** Scans the rest of a word (letters, digits, _) and returns the character after it. */
  const scanWord = (): string | undefined => {
    for (;;) {
      const c = next();
      if (!isAlnum(c)) {
        backup(c);
        return c;
      }
    }
  };

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
      if (end < 0) {
        fail('unclosed comment');
        return items;
      }
      advance(end + 2 - pos);
      const [delim, trimR] = atRightDelim();
      if (!delim) {
        fail('comment ends before closing delimiter');
        return items;
      }
      advance((trimR ? 2 : 0) + 2);
      if (trimR) trimLeadingSpace();
      ignore();
      continue;
    }
    advance(2);
    emit(T.LeftDelim);
    if (trim) {
      advance(2);
      ignore();
    }
    parenDepth = 0;
    // inside action
    let ok = true;
    for (;;) {
      const [delim, trimR] = atRightDelim();
      if (delim) {
        if (parenDepth !== 0) {
          fail('unclosed left paren');
          ok = false;
          break;
        }
        if (trimR) {
          advance(2);
          ignore();
        }
        advance(2);
        emit(T.RightDelim);
        if (trimR) {
          trimLeadingSpace();
          ignore();
        }
        break;
      }
      const r = next();
      if (r === undefined) {
        pos = n;
        fail('unclosed action');
        ok = false;
        break;
      }
      if (isSpace(r)) {
        let spaces = 1;
        while (isSpace(peek())) {
          next();
          spaces++;
        }
        if (hasRightTrim(pos - 1) && input.startsWith('}}', pos + 1)) {
          backup(input[pos - 1]);
          if (spaces === 1) {
            continue;
          }
        }
        emit(T.Space);
        continue;
      }
      if (r === '=') {
        emit(T.Assign);
        continue;
      }
      if (r === ':') {
        if (next() !== '=') {
          fail('expected :=');
          ok = false;
          break;
        }
        emit(T.Declare);
        continue;
      }
      if (r === '|') {
        emit(T.Pipe);
        continue;
      }
      if (r === '"') {
        if (!scanQuoted('"')) {
          fail('unterminated quoted string');
          ok = false;
          break;
        }
        emit(T.String);
        continue;
      }
      if (r === '`') {
        const end = input.indexOf('`', pos);
        if (end < 0) {
          fail('unterminated raw quoted string');
          ok = false;
          break;
        }
        advance(end + 1 - pos);
        emit(T.RawString);
        continue;
      }
      if (r === "'") {
        if (!scanQuoted("'")) {
          fail('unterminated character constant');
          ok = false;
          break;
        }
        emit(T.CharConstant);
        continue;
      }
      if (r === '$' || (r === '.' && pos < n && !(input[pos] >= '0' && input[pos] <= '9'))) {
        const typ = r === '$' ? T.Variable : T.Field;
        if (atTerminator()) {
          emit(typ === T.Variable ? T.Variable : T.Dot);
          continue;
        }
        const c = scanWord();
        if (!atTerminator()) {
          fail(`bad character ${hexRune(c ?? '')}`);
          ok = false;
          break;
        }
        emit(typ);
        continue;
      }
      if (r === '.' || r === '+' || r === '-' || (r >= '0' && r <= '9')) {
        backup(r);
        if (!scanNumber()) {
          fail(`bad number syntax: ${goQuote(input.slice(start, pos))}`);
          ok = false;
          break;
        }
        emit(T.Number);
        continue;
      }
      if (isAlnum(r)) {
        const c = scanWord();
        const word = input.slice(start, pos);
        if (!atTerminator()) {
          fail(`bad character ${hexRune(c ?? '')}`);
          ok = false;
          break;
        }
        const kw = KEYWORDS[word];
        if (kw !== undefined && Object.hasOwn(KEYWORDS, word)) emit(kw);
        else if (word === 'true' || word === 'false') emit(T.Bool);
        else emit(T.Identifier);
        continue;
      }
      if (r === '(') {
        emit(T.LeftParen);
        parenDepth++;
        continue;
      }
      if (r === ')') {
        parenDepth--;
        if (parenDepth < 0) {
          fail('unexpected right paren');
          ok = false;
          break;
        }
        emit(T.RightParen);
        continue;
      }
      if (r.codePointAt(0)! < 0x7f && r.codePointAt(0)! >= 0x20) {
        emit(T.Char);
        continue;
      }
      fail(`unrecognized character in action: ${hexRune(r)}`);
      ok = false;
      break;
    }
    if (!ok) return items;
  }

  function scanNumber(): boolean {
    const accept = (set: string) => {
      const c = next();
      if (c !== undefined && set.includes(c)) return true;
      backup(c);
      return false;
    };
    const acceptRun = (set: string) => {
      for (;;) {
        const c = next();
        if (c === undefined || !set.includes(c)) {
          backup(c);
          return;
        }
      }
    };
    accept('+-');
    let digits = '0123456789_';
    if (accept('0')) {
      if (accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (accept('oO')) digits = '01234567_';
      else if (accept('bB')) digits = '01_';
    }
    acceptRun(digits);
    if (accept('.')) acceptRun(digits);
    if (digits.length === 11 && accept('eE')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    if (digits.length === 23 && accept('pP')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    accept('i');
    if (isAlnum(peek())) {
      next();
      return false;
    }
    return true;
  }
}

export function countNL(s: string): number {
  let c = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) c++;
  return c;
}
