/**
 * The Dockerfile parser: text → instruction nodes, with Docker's rules for
 * parser directives (`# syntax=`, `# escape=`), comments, line
 * continuations with the escape character (empty continuation lines
 * skipped with a warning), leading `--flags`, exec (JSON) vs shell forms
 * and heredocs (`RUN <<EOF`, `COPY <<EOF /dest`).
 *
 * Nothing is expanded here: variable substitution happens when the
 * instruction is evaluated, with the variables in scope at that point.
 */
import { InvalidArgumentError } from '../core/errors.js';

export const INSTRUCTIONS = [
  'add',
  'arg',
  'cmd',
  'copy',
  'entrypoint',
  'env',
  'expose',
  'from',
  'healthcheck',
  'label',
  'maintainer',
  'onbuild',
  'run',
  'shell',
  'stopsignal',
  'user',
  'volume',
  'workdir',
] as const;
export type InstructionName = (typeof INSTRUCTIONS)[number];

const HEREDOC_INSTRUCTIONS = new Set(['run', 'copy', 'add']);

export interface Heredoc {
  name: string;
  content: string;
  /** Unquoted terminator: the body is subject to expansion (by the shell for RUN, by the builder for COPY/ADD). */
  expand: boolean;
}

export interface Node {
  cmd: InstructionName;
  /** The instruction as written, continuation lines joined (what "Step N/M :" shows). */
  original: string;
  /** Leading `--name=value` flags, as written. */
  flags: string[];
  /** Everything after the instruction name and its flags. */
  args: string;
  /** Exec form: the arguments were a JSON array of strings. */
  json?: string[];
  heredocs: Heredoc[];
  /** 1-based first and last line in the file. */
  line: number;
  endLine: number;
}

export interface Dockerfile {
  nodes: Node[];
  escape: string;
  syntax?: string;
  warnings: string[];
}

export class ParseError extends InvalidArgumentError {
  constructor(
    readonly line: number,
    msg: string,
  ) {
    super(`dockerfile parse error line ${line}: ${msg}`);
  }
}

const DIRECTIVE_RE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;

/** A JSON array of strings, or undefined when `s` is not one. */
export function parseJsonArray(s: string): string[] | undefined {
  const t = s.trim();
  if (!t.startsWith('[') || !t.endsWith(']')) return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    /* not JSON */
  }
  return undefined;
}

/** Split leading `--flag[=value]` words off `args` (quotes in a value are kept as written). */
export function splitFlags(args: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let s = args.trimStart();
  while (s.startsWith('--')) {
    let i = 0;
    let quote = '';
    for (; i < s.length; i++) {
      const c = s[i]!;
      if (quote) {
        if (c === quote) quote = '';
        continue;
      }
      if (c === '"' || c === "'") {
        quote = c;
        continue;
      }
      if (/\s/.test(c)) break;
    }
    const f = s.slice(0, i);
    if (f === '--') break;
    flags.push(f);
    s = s.slice(i).trimStart();
  }
  return { flags, rest: s };
}

const HEREDOC_RE = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_.-]*)\2/g;

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines.length && lines[0]!.charCodeAt(0) === 0xfeff) lines[0] = lines[0]!.slice(1);
  let escape = '\\';
  let syntax: string | undefined;
  const warnings: string[] = [];
  let i = 0;
  // Parser directives: only at the very top, until the first other line.
  const seen = new Set<string>();
  for (; i < lines.length; i++) {
    const m = DIRECTIVE_RE.exec(lines[i]!);
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (key !== 'escape' && key !== 'syntax' && key !== 'check') break;
    if (seen.has(key)) throw new ParseError(i + 1, `only one ${key} parser directive can be used`);
    seen.add(key);
    if (key === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`') throw new ParseError(i + 1, `invalid escape token '${m[2]}' does not match \` or \\`);
      escape = m[2]!;
    } else if (key === 'syntax') syntax = m[2];
  }
  const contRe = new RegExp(`${escape === '\\' ? '\\\\' : '`'}[ \\t]*$`);
  const isComment = (l: string) => /^\s*#/.test(l);
  const nodes: Node[] = [];

  for (; i < lines.length; i++) {
    const first = lines[i]!;
    if (first.trim() === '' || isComment(first)) continue;
    const start = i;
    let logical = '';
    let line = first;
    let emptyCont = false;
    // Join continuation lines; comments and empty lines inside are dropped.
    while (contRe.test(line)) {
      logical += line.replace(contRe, '');
      i++;
      while (i < lines.length && (lines[i]!.trim() === '' || isComment(lines[i]!))) {
        if (lines[i]!.trim() === '') emptyCont = true;
        i++;
      }
      if (i >= lines.length) {
        line = '';
        break;
      }
      line = lines[i]!;
    }
    logical += line;
    if (emptyCont) warnings.push(`[WARNING]: Empty continuation line found in:\n    ${logical.trim()}`);
    const m = /^\s*(\S+)\s*(.*)$/s.exec(logical);
    if (!m) continue;
    const name = m[1]!.toLowerCase();
    if (!(INSTRUCTIONS as readonly string[]).includes(name)) {
      throw new ParseError(start + 1, `unknown instruction: ${m[1]!.toUpperCase()}`);
    }
    const cmd = name as InstructionName;
    const raw = m[2]!.replace(/\s+$/, '');
    const { flags, rest } = cmd === 'onbuild' ? { flags: [], rest: raw } : splitFlags(raw);
    const heredocs: Heredoc[] = [];
    if (HEREDOC_INSTRUCTIONS.has(cmd) && parseJsonArray(rest) === undefined) {
      for (const h of rest.matchAll(HEREDOC_RE)) {
        const chompTabs = h[1] === '-';
        const term = h[3]!;
        const body: string[] = [];
        let closed = false;
        while (++i < lines.length) {
          const l = chompTabs ? lines[i]!.replace(/^\t+/, '') : lines[i]!;
          if (l === term) {
            closed = true;
            break;
          }
          body.push(l);
        }
        if (!closed) throw new ParseError(start + 1, `unterminated heredoc ${term}`);
        heredocs.push({ name: term, content: body.length ? body.join('\n') + '\n' : '', expand: h[2] === '' });
      }
    }
    if (!rest && cmd !== 'healthcheck' && heredocs.length === 0) {
      throw new ParseError(start + 1, `${cmd.toUpperCase()} requires at least one argument`);
    }
    nodes.push({
      cmd,
      original: logical.trim(),
      flags,
      args: rest,
      json: parseJsonArray(rest),
      heredocs,
      line: start + 1,
      endLine: i + 1,
    });
  }
  return { nodes, escape, syntax, warnings };
}

/** ONBUILD's argument as an instruction of its own (for triggers). */
export function parseTrigger(expr: string, escape = '\\'): Node {
  const df = parseDockerfile(`# escape=${escape}\n${expr}`);
  const n = df.nodes[0];
  if (!n || df.nodes.length !== 1) throw new InvalidArgumentError(`invalid ONBUILD trigger: ${expr}`);
  return n;
}

/**
 * `k=v k2="v 2"` or the legacy `k v w` form of ENV and LABEL, into raw
 * key/value words (quotes kept: expansion removes them).
 */
export function parseKeyValues(instr: string, args: string, escape: string): Array<[string, string]> {
  const words = splitRawWords(args, escape);
  if (words.length === 0) throw new InvalidArgumentError(`${instr} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    // Legacy: one key, the rest of the line is its value.
    const m = /^\s*(\S+)\s+(.*)$/s.exec(args);
    if (!m) throw new InvalidArgumentError(`${instr} must have two arguments`);
    return [[m[1]!, m[2]!.trim()]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/** Split at unquoted, unescaped whitespace, keeping quotes and escapes as written. */
export function splitRawWords(s: string, escape: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      cur += c;
      if (c === escape && quote === '"' && i + 1 < s.length) cur += s[++i];
      else if (c === quote) quote = '';
      continue;
    }
    if (/\s/.test(c)) {
      if (inWord) {
        out.push(cur);
        cur = '';
        inWord = false;
      }
      continue;
    }
    inWord = true;
    cur += c;
    if (c === '"' || c === "'") quote = c;
    else if (c === escape && i + 1 < s.length) cur += s[++i];
  }
  if (quote) throw new InvalidArgumentError(`unmatched quote in ${JSON.stringify(s)}`);
  if (inWord) out.push(cur);
  return out;
}
