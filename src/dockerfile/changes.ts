/**
 * `--change` for import and commit: the Dockerfile instructions that only
 * touch an image's config, applied to a ContainerConfig.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { ContainerConfig } from '../core/wire/container-config.js';

const ALLOWED = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'];

/** JSON array of strings (exec form), or undefined when the text is not one. */
function execForm(args: string): string[] | undefined {
  if (!args.trimStart().startsWith('[')) return undefined;
  try {
    const v = JSON.parse(args) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    /* shell form */
  }
  return undefined;
}

/** Split `k=v k2="v 2"` honouring double/single quotes and backslash escapes. */
export function splitWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) {
        out.push(cur);
        cur = '';
        inWord = false;
      }
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new InvalidArgumentError(`unmatched quote in ${JSON.stringify(s)}`);
  if (inWord) out.push(cur);
  return out;
}

/** `k=v …` pairs, or the legacy one-pair form `k v w`. */
function keyValues(instr: string, args: string): [string, string][] {
  const words = splitWords(args);
  if (words.length === 0) throw new InvalidArgumentError(`${instr} requires at least one argument`);
  if (!words[0].includes('=')) {
    const m = /^\s*(\S+)\s+(.*)$/s.exec(args);
    if (!m) throw new InvalidArgumentError(`${instr} must have two arguments`);
    return [[m[1], m[2].trim()]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

export function applyChanges(cfg: ContainerConfig, changes: string[]): ContainerConfig {
  const out: ContainerConfig = { ...cfg };
  for (const raw of changes) {
    for (const line of raw.split('\n')) {
      const m = /^\s*(\S+)\s*(.*?)\s*$/s.exec(line);
      if (!m) continue;
      const instr = m[1].toUpperCase();
      const args = m[2];
      if (!ALLOWED.includes(instr)) throw new InvalidArgumentError(`${m[1].toLowerCase()} is not a valid change command`); // dockerd's words, lowercased
      switch (instr) {
        case 'CMD':
          out.Cmd = execForm(args) ?? ['/bin/sh', '-c', args];
          break;
        case 'ENTRYPOINT':
          out.Entrypoint = execForm(args) ?? ['/bin/sh', '-c', args];
          break;
        case 'ENV': {
          const env = [...(out.Env ?? [])];
          for (const [k, v] of keyValues(instr, args)) {
            const i = env.findIndex((e) => e.split('=')[0] === k);
            if (i >= 0) env[i] = `${k}=${v}`;
            else env.push(`${k}=${v}`);
          }
          out.Env = env;
          break;
        }
        case 'LABEL': {
          const labels = { ...(out.Labels ?? {}) };
          for (const [k, v] of keyValues(instr, args)) labels[k] = v;
          out.Labels = labels;
          break;
        }
        case 'EXPOSE': {
          const ports = { ...(out.ExposedPorts ?? {}) };
          for (const p of splitWords(args)) ports[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
          out.ExposedPorts = ports;
          break;
        }
        case 'VOLUME': {
          const vols = { ...(out.Volumes ?? {}) };
          for (const v of execForm(args) ?? splitWords(args)) vols[v] = {};
          out.Volumes = vols;
          break;
        }
        case 'ONBUILD':
          out.OnBuild = [...(out.OnBuild ?? []), args];
          break;
        case 'STOPSIGNAL':
          out.StopSignal = args;
          break;
        case 'USER':
          out.User = args;
          break;
        case 'WORKDIR':
          out.WorkingDir = args;
          break;
      }
    }
  }
  return out;
}
