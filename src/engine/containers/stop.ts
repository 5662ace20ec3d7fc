/**
 * Stopping a container: stop (the stop signal, then SIGKILL after the
 * timeout), kill (any signal, dockerd's rules for the restart policy), and
 * wait (Docker's conditions). A stop or kill answers once the exit is
 * recorded; a container waiting out its restart delay just stays exited.
 */
import { constants as osConstants } from 'node:os';
import { BerthError, ConflictError, InvalidArgumentError, messageOf, NotFoundError } from '../../core/errors.js';
import type { ContainerRuntimes } from './runtimes.js';
import type { EventBus } from '../events.js';
import type { Container } from './record.js';

/** What stopping, killing and waiting need of the container service. */
export interface StopHost {
  readonly runc: ContainerRuntimes;
  readonly events: EventBus;
  get(ref: string): Container;
  tryGet(ref: string): Container | undefined;
  attrs(c: Container, extra?: Record<string, string>): Record<string, string>;
  save(c: Container): Promise<void>;
  persist(c: Container): Promise<void>;
  /** Record an unpause (kill's SIGKILL or stop signal unpauses). */
  markUnpaused(c: Container): Promise<void>;
}

/** A signal name or number as the runtime takes it; Docker's error otherwise. */
export function parseSignal(s: string | undefined, def = 'SIGKILL'): string {
  const v = (s || def).toUpperCase();
  if (/^\d+$/.test(v)) {
    if (Number(v) < 1 || Number(v) > 64) throw new InvalidArgumentError(`Invalid signal: ${s}`);
    return v;
  }
  const name = v.startsWith('SIG') ? v : `SIG${v}`;
  if (!(name in osConstants.signals) && !/^SIGRTM(IN|AX)([+-]\d+)?$/.test(name)) throw new InvalidArgumentError(`Invalid signal: ${s}`);
  return name;
}

/**
 * A restarting container (waiting out its policy's delay) that is stopped,
 * killed or removed: it stays exited, and whoever waits for that is told.
 */
async function cancelRestart(svc: Pick<StopHost, 'save'>, c: Container): Promise<void> {
  if (c.restartTimer) {
    clearTimeout(c.restartTimer);
    c.restartTimer = undefined;
  }
  if (!c.state.Restarting) return;
  c.state = { ...c.state, Status: 'exited', Restarting: false };
  await svc.save(c);
  for (const w of c.exitWaiters.splice(0)) w(c.state.ExitCode);
}

/**
 * Stop; false when it was not running (the API's 304). Answers once the
 * exit is recorded (onExit settles the state before it wakes the waiters).
 */
export async function stopContainer(svc: StopHost, ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<boolean> {
  const c = svc.get(ref);
  if (c.state.Restarting) {
    c.rec.ManuallyStopped = true;
    await cancelRestart(svc, c);
    return true;
  }
  if (!c.state.Running) return false;
  const signal = parseSignal(opts.signal ?? c.rec.Config.StopSignal, 'SIGTERM');
  const timeout = opts.timeout ?? (c.rec.Config.StopTimeout as number | undefined) ?? 10;
  // Waiting from before the first await: an exit meanwhile is not missed.
  const exited = nextExit(c);
  c.rec.ManuallyStopped = true;
  c.exitOnNext = true;
  await svc.save(c);
  if (!c.state.Running) return true;
  await svc.runc.kill(c.rec.Id, signal).catch(() => {});
  if (c.state.Paused) await svc.runc.resume(c.rec.Id).catch(() => {});
  if (timeout < 0) {
    await exited;
    return true;
  }
  if (await withTimeout(exited, timeout * 1000)) return true;
  await killAll(svc, c);
  if (!(await withTimeout(exited, 30_000))) throw new BerthError(`container ${c.rec.Id} did not exit after SIGKILL`, 500);
  return true;
}

/**
 * Send a signal, as dockerd's kill: any signal marks the container as
 * stopped by hand (unless-stopped keeps it down); SIGKILL, or the stop
 * signal, also ends its restart policy for this exit and unpauses it.
 * SIGKILL answers only once the exit is recorded, so whatever the client
 * does next (inspect, rm, commit) sees an exited container.
 */
export async function killContainer(svc: StopHost, ref: string, signal?: string): Promise<void> {
  const sig = parseSignal(signal);
  const c = tryGetOr404(svc, ref, `Cannot kill container: ${ref}: `);
  if (!c.state.Running && !c.state.Restarting) throw new ConflictError(`Cannot kill container: ${ref}: Container ${c.rec.Id} is not running`);
  const stopSignal = c.rec.Config.StopSignal ? parseSignal(c.rec.Config.StopSignal) : undefined;
  const sigkill = sig === 'SIGKILL' || sig === '9';
  const ends = sigkill || stopSignal === undefined || stopSignal === sig;
  if (ends) c.exitOnNext = true;
  c.rec.ManuallyStopped = true;
  // Waiting from before the first await: an exit meanwhile is not missed.
  const exited = sigkill && c.state.Running ? nextExit(c) : Promise.resolve(c.state.ExitCode);
  await svc.persist(c);
  if (c.state.Restarting) {
    if (ends) await cancelRestart(svc, c);
    return;
  }
  if (sigkill) {
    if (!c.state.Running) return void (await exited);
    await killAll(svc, c);
    if (c.state.Paused) await svc.runc.resume(c.rec.Id).catch(() => {});
    publishKill(svc, c, sig);
    if (!(await withTimeout(exited, 30_000))) throw new BerthError(`Cannot kill container: ${ref}: container ${c.rec.Id} did not exit after SIGKILL`, 500);
    return;
  }
  if (!c.state.Running) throw new ConflictError(`Cannot kill container: ${ref}: Container ${c.rec.Id} is not running`);
  try {
    await svc.runc.kill(c.rec.Id, sig);
  } catch (e) {
    throw new BerthError(`Cannot kill container: ${ref}: ${messageOf(e)}`, 500);
  }
  if (ends && c.state.Paused)
    await svc.runc.resume(c.rec.Id).then(
      () => svc.markUnpaused(c),
      () => {},
    );
  publishKill(svc, c, sig);
}

function publishKill(svc: StopHost, c: Container, sig: string): void {
  svc.events.publish(
    'container',
    'kill',
    c.rec.Id,
    svc.attrs(c, { signal: sig.replace(/^SIG/, '') === sig ? sig : String(osConstants.signals[sig as keyof typeof osConstants.signals] ?? sig) }),
  );
}

/** A container found by reference, or a 404 whose message starts with `prefix` (dockerd wraps lookups so). */
function tryGetOr404(svc: StopHost, ref: string, prefix: string): Container {
  const c = svc.tryGet(ref);
  if (!c) throw new NotFoundError(`${prefix}No such container: ${ref}`);
  return c;
}

/**
 * SIGKILL to every process of the container. In its own PID namespace they
 * all end with its init, so that is signalled straight away (no runtime
 * exec: `rm -f` of many containers is mostly exec time); sharing one, the
 * runtime signals the whole cgroup.
 */
export async function killAll(svc: { readonly runc: ContainerRuntimes }, c: Container): Promise<void> {
  if (!c.rec.HostConfig.PidMode && c.state.Pid > 0) {
    try {
      process.kill(c.state.Pid, 'SIGKILL');
      return;
    } catch {
      /* already gone: let the runtime see */
    }
  }
  await svc.runc.kill(c.rec.Id, 'SIGKILL', true).catch(() => {});
}

/** Resolves with the exit code of the container's next exit. */
export function nextExit(c: Container): Promise<number> {
  return new Promise((resolve) => c.exitWaiters.push(resolve));
}

/** Docker's wait conditions: not-running (default), next-exit, removed. */
export function waitFor(svc: StopHost, ref: string, condition = 'not-running'): Promise<number> {
  const c = svc.get(ref);
  if (!['not-running', 'next-exit', 'removed', ''].includes(condition)) throw new InvalidArgumentError(`invalid condition: "${condition}"`);
  if (condition === 'removed') return new Promise((resolve) => c.removeWaiters.push(resolve));
  if ((condition === 'not-running' || condition === '') && !c.state.Running && !c.state.Restarting) return Promise.resolve(c.state.ExitCode);
  return nextExit(c);
}

/** Whether `p` settled within `ms` (resolved or rejected). */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    p.then(
      () => {
        clearTimeout(t);
        resolve(true);
      },
      () => {
        clearTimeout(t);
        resolve(false);
      },
    );
  });
}
