/** berthd: open the engine on its data root and serve the Engine API on its listeners (unix, TCP with TLS, fd://). */
import { mkdir, writeFile, rm } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { log, setLogLevel, isLogLevel } from '../core/log.js';
import { flagHelp } from '../core/flags.js';
import { BERTH_VERSION } from '../core/version.js';
import { resolveRemap } from '../runtime/userns-remap.js';
import { Engine } from '../engine/engine.js';
import { createApiServer } from '../api/server.js';
import { overlaySupported } from '../snapshots/overlay2.js';
import type { DriverName } from '../snapshots/snapshotter.js';
import { DAEMON_FLAGS, loadSettings } from './config.js';
import { checkHosts } from './access.js';
import { openListeners } from './listeners.js';
import { openConsole, planConsole } from './console.js';
import { lockDataRoot } from './lock.js';
import { openAudit } from './audit.js';
import { rootlessMode } from './rootless.js';
import { rootless, setRootless } from '../core/rootless.js';
import { which } from '../core/proc.js';
import { parseMetricsAddr, startMetricsServer, type MetricsListener } from './metrics-server.js';

async function chooseDriver(dataRoot: string, wanted: DriverName | undefined): Promise<DriverName> {
  const supported = await overlaySupported(dataRoot);
  if (wanted === 'overlay2' && !supported) throw new Error(`error initializing graphdriver: overlay2 is not supported on ${dataRoot}`);
  if (wanted) return wanted;
  // Keep using the driver this data root already has images in.
  for (const d of ['overlay2', 'vfs'] as const) {
    const layers = join(dataRoot, 'snapshots', d, 'layers');
    if (existsSync(layers) && readdirSync(layers).length > 0 && (d === 'vfs' || supported)) return d;
  }
  if (!supported && rootless()) {
    // Unprivileged overlayfs needs kernel 5.11+ and a data root filesystem that allows it.
    const fuse = which('fuse-overlayfs') ? 'fuse-overlayfs is installed but Berth has no fuse-overlayfs driver' : 'fuse-overlayfs is not installed';
    log.warn(
      `overlayfs cannot be mounted in this user namespace on ${dataRoot} and ${fuse}: falling back to the vfs storage driver (a full copy of every layer)`,
    );
  } else if (!supported) log.warn('overlay is not supported on the data root; falling back to the vfs storage driver');
  return supported ? 'overlay2' : 'vfs';
}

async function main(): Promise<void> {
  const { settings, help, version } = await loadSettings(process.argv.slice(2));
  if (help) {
    process.stdout.write(`Usage:\tberthd [OPTIONS]\n\nA self-sufficient runtime for containers.\n\nOptions:\n${flagHelp(DAEMON_FLAGS)}\n`);
    return;
  }
  if (version) {
    process.stdout.write(`Berth version ${BERTH_VERSION}\n`);
    return;
  }
  if (!isLogLevel(settings.logLevel)) throw new Error(`unable to parse logging level: ${settings.logLevel}`);
  setLogLevel(settings.logLevel);
  // Signals are ours from here: the socket answers before the start has finished, and a client
  // that stops berthd then must get the clean shutdown, not the default death by SIGTERM.
  const signals = trapSignals();
  if (settings.rootless) {
    // Checked first: the user's daemon must be root of rootlesskit's namespace, never of the host.
    const mode = rootlessMode();
    setRootless(mode);
    settings.access.group ??= ''; // the socket stays the user's own (0660, the user's group)
    if (!mode.cgroupsDelegated)
      log.warn(
        'Running in rootless mode without cgroups: the host delegates none to this user, so memory, CPU and PIDs limits are discarded (with a warning) at create',
      );
  } else if (process.getuid?.() !== 0) throw new Error('berthd needs to be started with root privileges (or as an ordinary user with berthd-rootless)');
  // Refused before anything is opened: a host berthd would never listen on fails the start, not the first request.
  const { hosts, warnings } = checkHosts(settings.hosts, settings.access);
  if (settings.metricsAddr !== undefined) parseMetricsAddr(settings.metricsAddr);
  const consolePlan = settings.console ? planConsole(settings.console, settings.access) : undefined;

  await mkdir(settings.dataRoot, { recursive: true, mode: 0o710 });
  const lock = await lockDataRoot(settings.dataRoot);
  // As dockerd: the pidfile is there before the socket answers.
  if (settings.pidfile) {
    await mkdir(dirname(settings.pidfile), { recursive: true });
    await writeFile(settings.pidfile, String(process.pid));
  }
  // Before the engine: a broken policy file stops the start with nothing opened.
  const audit = await openAudit(settings.raw, settings.dataRoot, settings.authorizationPolicy);
  const storageDriver = await chooseDriver(settings.dataRoot, settings.storageDriver);
  const remap = settings.usernsRemap ? await resolveRemap(settings.usernsRemap) : undefined;
  const engine = await Engine.open({
    ...(remap ? { remap } : {}),
    dataRoot: settings.dataRoot,
    execRoot: settings.execRoot,
    storageDriver,
    config: settings.raw,
    certsDir: join(dirname(settings.configFile), 'certs.d'),
    maxBuildContextSize: settings.maxBuildContextSize,
    metrics: settings.metricsAddr !== undefined,
    historyInterval: historyInterval(settings.raw),
  });
  const server = createApiServer(engine, audit.gate);
  let listeners;
  let metricsListener: MetricsListener | undefined;
  let webConsole: { close(): Promise<void> } | undefined;
  try {
    for (const w of warnings) log.warn(w);
    if (settings.metricsAddr !== undefined) metricsListener = await startMetricsServer(settings.metricsAddr, engine.metrics);
    listeners = await openListeners(hosts, settings.access, server);
    if (consolePlan) webConsole = await openConsole(consolePlan, server, settings.execRoot, settings.dataRoot);
  } catch (err) {
    await metricsListener?.close();
    await listeners?.close();
    engine.close();
    throw err;
  }
  log.info('Daemon has completed initialization', {
    version: BERTH_VERSION,
    'storage-driver': storageDriver,
    'data-root': settings.dataRoot,
    ...(settings.rootless ? { rootless: true } : {}),
  });
  for (const a of listeners.addresses) log.info(`API listen on ${a.replace(/^unix:\/\//, '')}`);

  signals.ready(async (signal: string) => {
    log.info('Processing signal', { signal });
    await webConsole?.close();
    await listeners.close();
    await metricsListener?.close();
    server.closeAllConnections();
    engine.close();
    audit.close();
    if (settings.pidfile) await rm(settings.pidfile, { force: true });
    lock.close();
    log.info('Daemon shutdown complete');
    process.exit(0);
  });
}

/**
 * SIGTERM and SIGINT, trapped at once. One that comes while berthd is still starting is kept
 * and acted on as soon as the shutdown is ready; a second one then ends berthd at once (a start
 * that hangs can still be stopped).
 */
function trapSignals(): { ready(stop: (signal: string) => Promise<void>): void } {
  let stop: ((signal: string) => Promise<void>) | undefined;
  let pending: string | undefined;
  let stopping = false;
  const on = (signal: string) => {
    if (stop) {
      if (stopping) return;
      stopping = true;
      void stop(signal);
    } else if (pending) {
      log.warn('Second signal while starting: exiting now', { signal });
      process.exit(1);
    } else {
      pending = signal;
      log.info('Signal while starting: shutting down once the start is done', { signal });
    }
  };
  process.on('SIGTERM', () => on('terminated'));
  process.on('SIGINT', () => on('interrupt'));
  return {
    ready(fn) {
      stop = fn;
      if (pending) on(pending);
    },
  };
}

/** daemon.json's undocumented `history-interval` (seconds between history points; tests shorten it). */
function historyInterval(raw: Record<string, unknown>): number | undefined {
  const v = raw['history-interval'];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v >= 0.05 && v <= 3600))
    throw new Error(`invalid history-interval: ${JSON.stringify(v)}: seconds between 0.05 and 3600 expected`);
  return v;
}

main().catch((err: Error) => {
  process.stderr.write(`berthd: ${err.message}\n`);
  process.exit(1);
});
