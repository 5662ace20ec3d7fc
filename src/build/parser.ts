/**
 * The Dockerfile parser: text → parser directives and a list of
 * instructions, each with its flags, arguments (JSON or shell form),
 * heredocs and line numbers. No variable substitution here: that happens
 * in the evaluator, per instruction, with the variables in effect then.
 */
import { InvalidArgumentError } from '../core/errors.js';

export const INSTRUCTIONS = [
  'add', 'arg', 'cmd', 'copy', 'entrypoint', 'env', 'expose', 'from', 'healthcheck', 'label', 'maintainer',
  'onbuild', 'run', 'shell', 'stopsignal', 'user', 'volume', 'workdir',
] as const;
export type InstructionName = typeof INSTRUCTIONS[number];

/** Instructions whose words Docker runs through variable substitution. */
export const EXPANDS = new Set<string>(['add', 'arg', 'copy', 'env', 'expose', 'from', 'label', 'stopsignal', 'user', 'volume', 'workdir', 'onbuild']);
const HEREDOC_OK = new Set<string>(['run', 'copy', 'add']);

export interface Heredoc {
  name: string;
  content: string;
  /** Unquoted delimiter: the content gets variable substitution. */
  expand: boolean;
}

export interface Instruction {
  /** Lower-case name. */
  cmd: InstructionName;
  /** The instruction as written, continuations joined (what "Step N/M : …" shows). */
  original: string;
  /** `--name=value` flags before the arguments, raw. */
  flags: string[];
  /** Arguments after the flags, raw (not yet substituted). */
  rest: string;
  /** Exec form: the JSON array, when the arguments are one. */
  json?: string[];
  heredocs: Heredoc[];
  line: number;
  endLine: number;
}

export interface Dockerfile {
  escape: string;
  syntax?: string;
  instructions: Instruction[];
}

export class DockerfileParseError extends InvalidArgumentError {
  constructor(line: number, msg: string) {
    super(`dockerfile parse error on line ${line}: ${msg}`);
  }
}

const DIRECTIVE_RE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;

/** JSON array of strings, or undefined when the text is not one (then it is shell form). */
export function parseJsonArray(s: string): string[] | undefined {
  const t = s.trim();
  if (!t.startsWith('[') || !t.endsWith(']')) return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch { /* shell form */ }
  return undefined;
}

/** Heredoc markers in an instruction's arguments: `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`. */
function heredocMarkers(args: string): Array<{ name: string; expand: boolean; chomp: boolean }> {
  const out: Array<{ name: string; expand: boolean; chomp: boolean }> = [];
  const re = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(args))) out.push({ chomp: m[1] === '-', expand: m[2] === '', name: m[3] });
  return out;
}

function splitFlags(args: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let rest = args;
  for (;;) {
    const m = /^(--[a-zA-Z][a-zA-Z0-9-]*(?:=(?:"[^"]*"|\S*))?)(\s+|$)/.exec(rest);
    if (!m) break;
    flags.push(m[1]);
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let escape = '\\';
  let syntax: string | undefined;
  let i = 0;
  // Parser directives: only at the very top, before any other line.
  const seen = new Set<string>();
  for (; i < lines.length; i++) {
    const m = DIRECTIVE_RE.exec(lines[i]);
    if (!m) break;
    const key = m[1].toLowerCase();
    if (key !== 'escape' && key !== 'syntax' && key !== 'check') break;
    if (seen.has(key)) throw new DockerfileParseError(i + 1, `only one ${key} parser directive can be used`);
    seen.add(key);
    if (key === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`') throw new DockerfileParseError(i + 1, `invalid escape token '${m[2]}' does not match ` + '` or \\');
      escape = m[2];
    } else if (key === 'syntax') syntax = m[2];
  }
  const contRe = new RegExp('\\' + escape + '[ \\t]*$');
  const out: Instruction[] = [];
  while (i < lines.length) {
    const raw = lines[i];
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) { i++; continue; }
    const start = i + 1;
    let joined = '';
    let cur = raw.replace(/^\s+/, '');
    // Join continuation lines; comment lines and empty lines inside are dropped.
    for (;;) {
      if (contRe.test(cur)) {
        joined += cur.replace(contRe, '');
        i++;
        while (i < lines.length && (lines[i].trim() === '' || lines[i].trim().startsWith('#'))) i++;
        if (i >= lines.length) break;
        cur = lines[i].replace(/^\s+/, '');
      } else {
        joined += cur;
        i++;
        break;
      }
    }
    const end = i;
    const m = /^(\S+)(?:\s+(.*))?$/s.exec(joined.trim());
    if (!m) continue;
    const name = m[1].toLowerCase();
    if (!(INSTRUCTIONS as readonly string[]).includes(name)) throw new DockerfileParseError(start, `unknown instruction: ${m[1]}`);
    const cmd = name as InstructionName;
    const args = (m[2] ?? '').trim();
    const { flags, rest } = splitFlags(args);
    const heredocs: Heredoc[] = [];
    if (HEREDOC_OK.has(cmd) && !parseJsonArray(rest)) {
      for (const mk of heredocMarkers(rest)) {
        const body: string[] = [];
        for (;;) {
          if (i >= lines.length) throw new DockerfileParseError(start, `unterminated heredoc ${mk.name}`);
          let l = lines[i++];
          if (mk.chomp) l = l.replace(/^\t+/, '');
          if (l === mk.name) break;
          body.push(l);
        }
        heredocs.push({ name: mk.name, content: body.length ? body.join('\n') + '\n' : '', expand: mk.expand });
      }
    }
    const json = cmd === 'onbuild' ? undefined : parseJsonArray(rest);
    if (args === '' && !['healthcheck'].includes(cmd)) {
      throw new DockerfileParseError(start, `${cmd.toUpperCase()} requires at least one argument`);
    }
    out.push({ cmd, original: joined.trim(), flags, rest, ...(json ? { json } : {}), heredocs, line: start, endLine: heredocs.length ? i : end });
  }
  return { escape, ...(syntax ? { syntax } : {}), instructions: out };
}
