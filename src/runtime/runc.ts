/**
 * The OCI runtime (runc, or any runtime with its command line: crun) driven
 * through its CLI. One state root per daemon, so two daemons never see each
 * other's containers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { NotFoundError, SystemError, ConflictError } from '../core/errors.js';
import { run } from '../core/proc.js';

export interface RuntimeState { id: string; pid: number; status: 'creating' | 'created' | 'running' | 'paused' | 'stopped'; bundle: string }

export class Runc {
  constructor(readonly binary: string, readonly root: string) {}

  private async call(args: string[], input?: string): Promise<string> {
    const r = await run(this.binary, ['--root', this.root, ...args], input === undefined ? {} : { input });
    if (r.code !== 0) {
      const msg = (r.stderr.trim().split('\n').pop() ?? '').replace(/^time="[^"]*" level=\w+ msg="?/, '').replace(/"$/, '');
      if (/does not exist|not exist/.test(msg)) throw new NotFoundError(`container ${args[args.length - 1]} does not exist in the runtime`);
      if (/not running|is paused|is stopped|cannot (pause|resume)/.test(msg)) throw new ConflictError(msg);
      throw new SystemError(`${this.binary} ${args[0]}: ${msg || `exit status ${r.code}`}`);
    }
    return r.stdout;
  }

  async state(id: string): Promise<RuntimeState | null> {
    try { return JSON.parse(await this.call(['state', id])) as RuntimeState; } catch (e) {
      if (e instanceof NotFoundError) return null;
      throw e;
    }
  }

  start(id: string): Promise<string> { return this.call(['start', id]); }
  async kill(id: string, signal: string | number, all = false): Promise<void> {
    await this.call(['kill', ...(all ? ['--all'] : []), id, String(signal)]);
  }
  async delete(id: string, force = false): Promise<void> {
    try { await this.call(['delete', ...(force ? ['--force'] : []), id]); } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }
  async pause(id: string): Promise<void> { await this.call(['pause', id]); }
  async resume(id: string): Promise<void> { await this.call(['resume', id]); }
  /** Change resource limits of a live container (runc's own JSON: memory/cpu/blockIO/pids). */
  async update(id: string, resources: object): Promise<void> { await this.call(['update', '--resources', '-', id], JSON.stringify(resources)); }
  /** PIDs of every process in the container, as the host sees them. */
  async ps(id: string): Promise<number[]> { return JSON.parse(await this.call(['ps', '--format', 'json', id])) as number[] ?? []; }

  /** Start a process in a running container; stdio is the caller's. */
  exec(id: string, processJson: string, opts: { detach?: boolean; pidFile?: string } = {}): ChildProcess {
    const args = ['--root', this.root, 'exec', '--process', processJson];
    if (opts.pidFile) args.push('--pid-file', opts.pidFile);
    if (opts.detach) args.push('--detach');
    args.push(id);
    return spawn(this.binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  }
}
