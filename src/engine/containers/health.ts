/**
 * Health checks (the image's HEALTHCHECK or --health-* flags): the test runs
 * in the container every interval; its exit codes drive starting → healthy /
 * unhealthy as Docker defines them, with the last five results kept.
 */
import { spawn } from 'node:child_process';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { specToJson } from '../../runtime/spec/index.js';
import { resolveUser } from '../../runtime/user.js';
import { DEFAULT_PATH } from './config.js';
import { execProcess } from './oci/spec.js';
import type { ContainerRuntimes } from './runtimes.js';
import type { Snapshotter } from '../../snapshots/snapshotter.js';
import type { Container } from './record.js';

interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

const NS = 1_000_000;
const MAX_OUTPUT = 4096;

/** What a probe needs of the container service: the container's rootfs and the runtime to exec in it. */
export interface ProbeHost {
  readonly snapshotter: Pick<Snapshotter, 'mount'>;
  readonly runc: Pick<ContainerRuntimes, 'of'>;
  readonly opts: { readonly execRoot: string };
}

/** The argv a health test runs, or null when there is none. */
export function healthArgv(h: HealthConfig | undefined): string[] | null {
  const t = h?.Test;
  if (!t?.length || t[0] === 'NONE') return null;
  if (t[0] === 'CMD') return t.slice(1);
  if (t[0] === 'CMD-SHELL') return ['/bin/sh', '-c', t.slice(1).join(' ')];
  return t;
}

/** Run one probe with runc exec; resolves with its exit code and (trimmed) output. */
async function probe(svc: ProbeHost, c: Container, argv: string[], timeoutMs: number): Promise<{ code: number; output: string }> {
  const rootfs = await svc.snapshotter.mount(c.rec.Id);
  const user = await resolveUser(rootfs, c.rec.Config.User, c.rec.HostConfig.GroupAdd);
  const env = [...(c.rec.Config.Env ?? [])];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
  const proc = execProcess({
    args: argv,
    env,
    cwd: c.rec.Config.WorkingDir || '/',
    user,
    tty: false,
    hostConfig: c.rec.HostConfig,
    noNewPrivileges: c.rec.NoNewPrivileges,
  });
  const dir = join(svc.opts.execRoot, 'containers', c.rec.Id, 'health');
  await mkdir(dir, { recursive: true });
  const spec = join(dir, 'probe.json');
  await writeFile(spec, specToJson(proc));
  return new Promise((resolve) => {
    const child = spawn(svc.runc.of(c.rec.Id).binary, [...svc.runc.of(c.rec.Id).cliArgs(), 'exec', '--process', spec, c.rec.Id], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const take = (b: Buffer) => {
      if (output.length < MAX_OUTPUT) output += b.toString('utf8');
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', () => {
      clearTimeout(timer);
      resolve({ code: -1, output: 'cannot run health check' });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve({ code: -1, output: `Health check exceeded timeout (${timeoutMs / 1000}s)` });
      else resolve({ code: code ?? -1, output: output.slice(0, MAX_OUTPUT) });
    });
  });
}

/** Start probing a freshly started container; returns a function that stops it. */
export function startHealthChecks(svc: ProbeHost, c: Container, onChange: (status: string) => void): (() => void) | undefined {
  const h = c.rec.Config.Healthcheck as HealthConfig | undefined;
  const argv = healthArgv(h);
  if (!argv) return undefined;
  const interval = (h?.Interval || 30_000 * NS) / NS;
  const timeout = (h?.Timeout || 30_000 * NS) / NS;
  const startPeriod = (h?.StartPeriod ?? 0) / NS;
  const retries = h?.Retries || 3;
  const started = Date.now();
  c.state.Health = { Status: 'starting', FailingStreak: 0, Log: [] };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    if (stopped || !c.state.Running) return;
    const start = new Date();
    const r = await probe(svc, c, argv, timeout).catch(() => ({ code: -1, output: 'health check failed to run' }));
    if (stopped || !c.state.Running || !c.state.Health) return;
    const health = c.state.Health;
    health.Log = [...health.Log, { Start: start.toISOString(), End: new Date().toISOString(), ExitCode: r.code, Output: r.output }].slice(-5);
    const before = health.Status;
    if (r.code === 0) {
      health.FailingStreak = 0;
      health.Status = 'healthy';
    } else if (Date.now() - started >= startPeriod || before !== 'starting') {
      health.FailingStreak++;
      if (health.FailingStreak >= retries) health.Status = 'unhealthy';
    }
    onChange(health.Status);
    timer = setTimeout(() => void tick(), interval);
  };
  timer = setTimeout(() => void tick(), interval);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
