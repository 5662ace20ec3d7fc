/**
 * Dockerfile variable substitution and quote removal, as Docker's builder
 * does it for the instructions that allow it: `$VAR`, `${VAR}`,
 * `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`,
 * `${VAR:?msg}`, single quotes literal, double quotes expanding, the escape
 * character making the next one literal.
 */
import { InvalidArgumentError } from '../core/errors.js';

export type Vars = Map<string, string>;

class Lexer {
  private pos = 0;
  constructor(private readonly s: string, private readonly vars: Vars, private readonly esc: string, private readonly split: boolean) {}

  private peek(): string { return this.s[this.pos] ?? ''; }

  /** Words of the whole input; with split=false exactly one word. */
  words(): string[] {
    const out: string[] = [];
    let cur = '';
    let has = false;
    const flush = () => { if (has) out.push(cur); cur = ''; has = false; };
    while (this.pos < this.s.length) {
      const c = this.peek();
      if (this.split && /\s/.test(c)) { flush(); this.pos++; continue; }
      if (c === "'") { has = true; this.pos++; cur += this.until("'"); continue; }
      if (c === '"') { has = true; this.pos++; cur += this.doubleQuoted(); continue; }
      if (c === this.esc) {
        this.pos++;
        has = true;
        if (this.pos < this.s.length) cur += this.s[this.pos++];
        continue;
      }
      if (c === '$') {
        const v = this.dollar();
        if (this.split) {
          // An unquoted expansion splits on whitespace, like the shell.
          const parts = v.split(/\s+/);
          for (let k = 0; k < parts.length; k++) {
            if (k > 0) flush();
            if (parts[k] !== '') { cur += parts[k]; has = true; }
          }
        } else { cur += v; has = true; }
        continue;
      }
      cur += c; has = true; this.pos++;
    }
    if (!this.split) return [cur];
    flush();
    return out;
  }

  private until(q: string): string {
    const end = this.s.indexOf(q, this.pos);
    if (end < 0) throw new InvalidArgumentError(`unexpected end of statement while looking for matching single-quote`);
    const v = this.s.slice(this.pos, end);
    this.pos = end + 1;
    return v;
  }

  private doubleQuoted(): string {
    let out = '';
    while (this.pos < this.s.length) {
      const c = this.s[this.pos];
      if (c === '"') { this.pos++; return out; }
      if (c === this.esc && this.pos + 1 < this.s.length && ['"', '$', this.esc].includes(this.s[this.pos + 1])) { out += this.s[this.pos + 1]; this.pos += 2; continue; }
      if (c === '$') { out += this.dollar(); continue; }
      out += c; this.pos++;
    }
    throw new InvalidArgumentError('unexpected end of statement while looking for matching double-quote');
  }

  /** At a `$`: the expansion's value. */
  private dollar(): string {
    this.pos++;
    const c = this.peek();
    if (c === '{') {
      this.pos++;
      const nm = /^[A-Za-z_][A-Za-z0-9_]*|^[0-9]/.exec(this.s.slice(this.pos));
      if (!nm) throw new InvalidArgumentError(`missing ':' in substitution`);
      const name = nm[0];
      this.pos += name.length;
      if (this.peek() === '}') { this.pos++; return this.vars.get(name) ?? ''; }
      const op = /^(:?[-+?])/.exec(this.s.slice(this.pos));
      if (!op) throw new InvalidArgumentError(`unsupported modifier (${this.peek()}) in substitution`);
      this.pos += op[1].length;
      const word = this.braceWord();
      const set = this.vars.has(name);
      const nonEmpty = set && this.vars.get(name) !== '';
      const ok = op[1].startsWith(':') ? nonEmpty : set;
      switch (op[1].replace(':', '')) {
        case '-': return ok ? this.vars.get(name)! : word;
        case '+': return ok ? word : '';
        default:
          if (!ok) throw new InvalidArgumentError(`${name}: ${word || 'is not allowed to be unset'}`);
          return this.vars.get(name)!;
      }
    }
    const nm = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.pos));
    if (!nm) return '$';
    this.pos += nm[0].length;
    return this.vars.get(nm[0]) ?? '';
  }

  /** The word of `${VAR:-word}` up to its closing brace, itself expanded. */
  private braceWord(): string {
    let out = '';
    while (this.pos < this.s.length) {
      const c = this.s[this.pos];
      if (c === '}') { this.pos++; return out; }
      if (c === '$') { out += this.dollar(); continue; }
      if (c === "'") { this.pos++; out += this.until("'"); continue; }
      if (c === '"') { this.pos++; out += this.doubleQuoted(); continue; }
      if (c === this.esc && this.pos + 1 < this.s.length) { out += this.s[this.pos + 1]; this.pos += 2; continue; }
      out += c; this.pos++;
    }
    throw new InvalidArgumentError(`syntax error: missing '}'`);
  }
}

/** One word with substitution and quote removal. */
export function expandWord(s: string, vars: Vars, escape = '\\'): string {
  return new Lexer(s, vars, escape, false).words()[0];
}

/** Substitution, quote removal, and splitting on unquoted whitespace. */
export function expandWords(s: string, vars: Vars, escape = '\\'): string[] {
  return new Lexer(s, vars, escape, true).words();
}

/**
 * Split raw text into words on unquoted whitespace, keeping quotes and
 * escapes in place (so each word can be expanded later on its own).
 */
export function rawWords(s: string, escape = '\\'): string[] {
  const out: string[] = [];
  let cur = '';
  let q = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) { cur += c; if (c === q) q = ''; else if (c === escape && q === '"' && i + 1 < s.length) cur += s[++i]; continue; }
    if (c === '"' || c === "'") { q = c; cur += c; continue; }
    if (c === escape && i + 1 < s.length) { cur += c + s[++i]; continue; }
    if (/\s/.test(c)) { if (cur) out.push(cur); cur = ''; continue; }
    cur += c;
  }
  if (q) throw new InvalidArgumentError(`unmatched quote in ${JSON.stringify(s)}`);
  if (cur) out.push(cur);
  return out;
}

/**
 * `KEY=VALUE …` pairs (or the legacy `KEY VALUE` form) of ENV, LABEL and
 * ARG, each value substituted with `vars` (when given).
 */
export function keyValuePairs(instr: string, rest: string, vars: Vars | undefined, escape = '\\', allowBareKey = false): Array<[string, string | undefined]> {
  const words = rawWords(rest, escape);
  const exp = (w: string) => (vars ? expandWord(w, vars, escape) : expandWord(w, new Map(), escape));
  if (words.length === 0) throw new InvalidArgumentError(`${instr} requires at least one argument`);
  if (!words[0].includes('=') && !allowBareKey) {
    const m = /^\s*(\S+)\s+(.*)$/s.exec(rest);
    if (!m) throw new InvalidArgumentError(`${instr} must have two arguments`);
    return [[m[1], vars ? expandWord(m[2].trim(), vars, escape) : m[2].trim()]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) {
      if (allowBareKey) return [exp(w), undefined] as [string, undefined];
      throw new InvalidArgumentError(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    }
    if (eq === 0) throw new InvalidArgumentError(`${instr} names can not be blank`);
    return [exp(w.slice(0, eq)), exp(w.slice(eq + 1))] as [string, string];
  });
}
