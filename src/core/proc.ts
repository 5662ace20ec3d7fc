import { spawn, type SpawnOptions } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { SystemError } from './errors.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run a program to completion, collecting its output. Never throws on exit
 * code. `fds` are handed to the child as its fds 3, 4, … (a directory handle
 * it reaches as /proc/self/fd/3, say).
 */
export function run(cmd: string, args: string[], opts: SpawnOptions & { input?: string | Buffer; fds?: number[] } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const hasInput = opts.input !== undefined;
    const child = spawn(cmd, args, { ...opts, stdio: [hasInput ? 'pipe' : 'ignore', 'pipe', 'pipe', ...(opts.fds ?? [])] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    );
    if (hasInput) {
      // A program may exit without reading all its input; its exit status tells what happened.
      child.stdin!.on('error', () => {});
      child.stdin!.end(opts.input);
    }
  });
}

/** Run a program and throw a SystemError with its stderr if it fails. */
export async function runOk(cmd: string, args: string[], opts: SpawnOptions & { input?: string | Buffer } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new SystemError(`${cmd} ${args.join(' ')}: ${r.stderr.trim() || `exit status ${r.code}`}`);
  return r.stdout;
}

/** Absolute path of a program on PATH (plus the sbin dirs a root daemon expects), or undefined. */
export function which(name: string): string | undefined {
  if (name.includes('/')) return name;
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = `${d}/${name}`;
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}
