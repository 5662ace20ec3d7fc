/**
 * Variable substitution in Dockerfile words, with the rules of Docker's
 * shell lexer: single quotes are literal, double quotes allow `$` and
 * escapes of `"`, `$` and the escape character, the escape character
 * outside quotes takes the next character literally, and `$VAR`, `${VAR}`,
 * `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`,
 * `${VAR:?msg}`, `${VAR?msg}` expand. Quotes are removed.
 */
import { InvalidArgumentError } from '../core/errors.js';

export type Env = Map<string, string>;

/** `KEY=value` list → map; a later key wins. */
export function envMap(list: Iterable<string>): Env {
  const m = new Map<string, string>();
  for (const e of list) {
    const i = e.indexOf('=');
    if (i < 0) m.set(e, '');
    else m.set(e.slice(0, i), e.slice(i + 1));
  }
  return m;
}

class Lexer {
  private i = 0;
  /** Names of the variables that were looked up (for unused build-arg warnings). */
  readonly used = new Set<string>();
  constructor(
    private readonly s: string,
    private readonly env: Env,
    private readonly escape: string,
  ) {}

  /** Words split at unquoted whitespace of the source; expansions never split. */
  words(split: boolean): string[] {
    const out: string[] = [];
    let cur = '';
    let inWord = false;
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (split && /\s/.test(c)) {
        if (inWord) {
          out.push(cur);
          cur = '';
          inWord = false;
        }
        this.i++;
        continue;
      }
      inWord = true;
      if (c === "'") {
        this.i++;
        const end = s.indexOf("'", this.i);
        if (end < 0) throw new InvalidArgumentError('unexpected end of statement while looking for matching single-quote');
        cur += s.slice(this.i, end);
        this.i = end + 1;
      } else if (c === '"') {
        this.i++;
        cur += this.doubleQuoted();
      } else if (c === this.escape) {
        this.i++;
        if (this.i < s.length) cur += s[this.i++];
        else cur += c;
      } else if (c === '$') {
        cur += this.dollar();
      } else {
        cur += c;
        this.i++;
      }
    }
    if (inWord || !split) out.push(cur);
    return out;
  }

  private doubleQuoted(): string {
    const s = this.s;
    let out = '';
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === '$') {
        out += this.dollar();
        continue;
      }
      if (c === this.escape && this.i + 1 < s.length) {
        const n = s[this.i + 1]!;
        if (n === '"' || n === '$' || n === this.escape) {
          out += n;
          this.i += 2;
          continue;
        }
      }
      out += c;
      this.i++;
    }
    throw new InvalidArgumentError('unexpected end of statement while looking for matching double-quote');
  }

  /** Text after `${NAME:-`, up to the matching `}`, itself expanded. */
  private wordUntilBrace(): string {
    const s = this.s;
    let out = '';
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (c === '}') {
        this.i++;
        return out;
      }
      if (c === "'") {
        const end = s.indexOf("'", this.i + 1);
        if (end < 0) throw new InvalidArgumentError('unexpected end of statement while looking for matching single-quote');
        out += s.slice(this.i + 1, end);
        this.i = end + 1;
      } else if (c === '"') {
        this.i++;
        out += this.doubleQuoted();
      } else if (c === this.escape && this.i + 1 < s.length) {
        out += s[this.i + 1];
        this.i += 2;
      } else if (c === '$') out += this.dollar();
      else {
        out += c;
        this.i++;
      }
    }
    throw new InvalidArgumentError("missing '}'");
  }

  private lookup(name: string): string | undefined {
    this.used.add(name);
    return this.env.get(name);
  }

  private dollar(): string {
    const s = this.s;
    this.i++; // $
    const c = s[this.i];
    if (c === '{') {
      this.i++;
      const m = /^[A-Za-z0-9_]+/.exec(s.slice(this.i));
      if (!m) throw new InvalidArgumentError(`bad substitution: ${s}`);
      const name = m[0];
      this.i += name.length;
      const next = s[this.i];
      if (next === '}') {
        this.i++;
        return this.lookup(name) ?? '';
      }
      let op = next ?? '';
      if (op === ':') {
        op += s[this.i + 1] ?? '';
        this.i += 2;
      } else this.i++;
      const word = this.wordUntilBrace();
      const v = this.lookup(name);
      switch (op) {
        case ':-':
          return v === undefined || v === '' ? word : v;
        case '-':
          return v === undefined ? word : v;
        case ':+':
          return v === undefined || v === '' ? '' : word;
        case '+':
          return v === undefined ? '' : word;
        case ':?':
          if (v === undefined || v === '') throw new InvalidArgumentError(`${name}: ${word || 'is not allowed to be empty'}`);
          return v;
        case '?':
          if (v === undefined) throw new InvalidArgumentError(`${name}: ${word || 'is not allowed to be unset'}`);
          return v;
        default:
          throw new InvalidArgumentError(`unsupported modifier (${op}) in substitution`);
      }
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(this.i));
    if (!m) return '$';
    this.i += m[0].length;
    return this.lookup(m[0]) ?? '';
  }
}

/** One word, expanded (quotes removed); whitespace kept. */
export function processWord(s: string, env: Env, escape = '\\', used?: Set<string>): string {
  const lx = new Lexer(s, env, escape);
  const r = lx.words(false)[0] ?? '';
  if (used) for (const u of lx.used) used.add(u);
  return r;
}

/** Words split at unquoted whitespace, each expanded. */
export function processWords(s: string, env: Env, escape = '\\', used?: Set<string>): string[] {
  const lx = new Lexer(s, env, escape);
  const r = lx.words(true);
  if (used) for (const u of lx.used) used.add(u);
  return r;
}
