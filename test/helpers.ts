/**
 * Test harness: a private berthd per suite (own data root, exec root and
 * socket), the berth CLI and the real docker CLI pointed at it, fixtures.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { createHash } from 'node:crypto';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BERTH = join(REPO, 'bin', 'berth');
export const BERTHD = join(REPO, 'bin', 'berthd');
export const FIXTURES = '/var/tmp/berth-test-fixtures';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run a program to completion, optionally feeding stdin. With `group`, it runs in its own
 * process group and a timeout kills the whole group: a hung grandchild (a CLI in a shell
 * pipeline) holds the pipes open, and killing the shell alone would never end the wait.
 */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number; group?: boolean } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: !!opts.group });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => {
      try {
        if (opts.group) process.kill(-child.pid!, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }, opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : 1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** GET/HEAD/POST against a unix socket; raw status, headers and body. */
export function http(
  socketPath: string,
  method: string,
  path: string,
  body?: Buffer | string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: body ? { 'Content-Length': Buffer.byteLength(body) } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export class Daemon {
  proc?: ChildProcess;
  log = '';
  readonly socket: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly host: string;
  /** The default network's bridge, unless a test writes its own daemon.json. */
  readonly bridge: string;

  constructor(
    readonly dir: string,
    readonly extraArgs: string[] = [],
    opts: { defaultBridge?: boolean } = {},
  ) {
    this.socket = join(dir, 'berth.sock');
    this.dataRoot = join(dir, 'root');
    this.execRoot = join(dir, 'exec');
    this.host = `unix://${this.socket}`;
    this.bridge = opts.defaultBridge ? 'berth0' : privateBridge(dir);
    // Each daemon reads its own config, never the machine's /etc/berth/daemon.json, and has
    // its own default bridge, so suites (and a berthd the machine runs) never share berth0.
    if (!existsSync(join(dir, 'daemon.json'))) {
      const config = opts.defaultBridge ? {} : { bridge: privateBridge(dir) };
      writeFileSync(join(dir, 'daemon.json'), JSON.stringify(config) + '\n');
    }
  }

  args(): string[] {
    return ['-H', this.host, '--data-root', this.dataRoot, '--exec-root', this.execRoot, '--config-file', join(this.dir, 'daemon.json'), ...this.extraArgs];
  }

  /** Start (or restart) berthd and wait until it answers /_ping. */
  async start(): Promise<void> {
    const proc = spawn(process.execPath, [BERTHD, ...this.args()], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout!.on('data', (b: Buffer) => {
      this.log += b.toString();
    });
    proc.stderr!.on('data', (b: Buffer) => {
      this.log += b.toString();
    });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`berthd exited with ${proc.exitCode}:\n${this.log}`);
      try {
        if ((await http(this.socket, 'GET', '/_ping')).status === 200) return;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`berthd did not answer within 20s:\n${this.log}`);
  }

  /** SIGTERM and wait for a clean exit; returns the exit code. */
  async stop(): Promise<number | null> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    const done = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill('SIGTERM');
    return done;
  }

  async kill9(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const done = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await done;
  }

  /** The berth CLI, run as a user runs it (the script, so its shebang applies). */
  berth(args: string[], opts: { input?: string | Buffer } = {}): Promise<RunResult> {
    return run(BERTH, ['-H', this.host, ...args], opts);
  }

  /** The real docker CLI, pointed at this berthd. */
  docker(args: string[], opts: { input?: string | Buffer } = {}): Promise<RunResult> {
    return run('docker', args, { ...opts, env: { ...process.env, DOCKER_HOST: this.host, DOCKER_CONFIG: join(this.dir, 'docker-config') } });
  }

  /** Remove every container (they would outlive berthd, holding their mounts and network namespaces). */
  async removeContainers(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const ids = (await this.berth(['ps', '-aq'])).stdout.trim().split('\n').filter(Boolean);
    if (ids.length) await this.berth(['rm', '-f', ...ids]);
  }

  async cleanup(): Promise<void> {
    await this.removeContainers();
    await this.stop();
    dropNetworkRules(this.dataRoot);
    spawnSync('ip', ['link', 'del', privateBridge(this.dir)], { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A test daemon's own default bridge: a name derived from its directory (at most 15 characters). */
function privateBridge(dir: string): string {
  return `bt${createHash('sha256').update(dir).digest('hex').slice(0, 10)}`;
}

/**
 * A daemon keeps its default bridge's iptables rules across restarts (as dockerd does); a test
 * daemon's data root is gone after its suite, so drop the rules it tagged (berth:<hash of root>:…).
 */
export function dropNetworkRules(dataRoot: string): void {
  const tag = createHash('sha256').update(dataRoot).digest('hex').slice(0, 8);
  for (const table of ['filter', 'nat']) {
    const lines = spawnSync('iptables', ['-w', '-t', table, '-S'], { encoding: 'utf8' }).stdout ?? '';
    for (const l of lines.split('\n').filter((x) => x.startsWith('-A ') && x.includes(`berth:${tag}:`))) {
      spawnSync('sh', ['-c', `iptables -w -t ${table} ${l.replace(/^-A /, '-D ')}`]);
    }
  }
}

export function tempDir(prefix = 'berth-test-'): string {
  mkdirSync('/var/tmp', { recursive: true });
  return mkdtempSync(join('/var/tmp', prefix));
}

/** Start a fresh berthd on a temporary root. */
export async function startDaemon(extraArgs: string[] = [], opts: { defaultBridge?: boolean } = {}): Promise<Daemon> {
  const d = new Daemon(tempDir(), extraArgs, opts);
  await d.start();
  return d;
}

/** The busybox rootfs tar made from Debian's busybox-static (built once, cached). */
export function busyboxTar(): string {
  const out = join(FIXTURES, 'busybox.tar');
  if (!existsSync(out)) {
    mkdirSync(FIXTURES, { recursive: true });
    const r = spawnSync('bash', [join(REPO, 'scripts', 'busybox-rootfs.sh'), out + '.tmp'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`busybox-rootfs.sh failed: ${r.stderr}`);
    spawnSync('mv', [out + '.tmp', out]);
  }
  return out;
}

/** Import the busybox rootfs into a daemon as `name`; returns the image ID. */
export async function importBusybox(d: Daemon, name = 'busybox:latest'): Promise<string> {
  const r = await d.berth(['import', '--change', 'CMD ["sh"]', busyboxTar(), name]);
  if (r.code !== 0) throw new Error(`import failed: ${r.stderr}`);
  return r.stdout.trim();
}

export function cleanupDir(dir: string): void {
  dropNetworkRules(join(dir, 'root'));
  spawnSync('ip', ['link', 'del', privateBridge(dir)], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}

/** A small tar made in memory: path → content (string), or a header for links and dirs. */
export async function makeTar(entries: Record<string, string | { type: 'directory' | 'symlink' | 'link'; linkname?: string; mode?: number }>): Promise<Buffer> {
  const { pack } = await import('tar-stream');
  const p = pack();
  for (const [name, v] of Object.entries(entries)) {
    if (typeof v === 'string') p.entry({ name, mode: 0o644, mtime: new Date(1_700_000_000_000) }, v);
    else p.entry({ name, type: v.type, linkname: v.linkname, mode: v.mode ?? (v.type === 'directory' ? 0o755 : 0o777), mtime: new Date(1_700_000_000_000) });
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A real dockerd on private roots, socket and bridge, with no iptables
 * changes to the host. Its own bridge, not --bridge=none: a dockerd started
 * with none deletes the host's docker0, which a Docker on the same machine uses.
 */
export class RealDockerd {
  proc?: ChildProcess;
  log = '';
  readonly socket: string;
  readonly bridge: string;
  constructor(
    readonly dir: string,
    readonly extraArgs: string[] = [],
  ) {
    this.socket = join(dir, 'docker.sock');
    this.bridge = `bdk${createHash('sha256').update(dir).digest('hex').slice(0, 10)}`;
  }

  async start(): Promise<void> {
    spawnSync('ip', ['link', 'add', this.bridge, 'type', 'bridge'], { stdio: 'ignore' });
    const args = [
      '--data-root',
      join(this.dir, 'root'),
      '--exec-root',
      join(this.dir, 'exec'),
      '-H',
      `unix://${this.socket}`,
      '--pidfile',
      join(this.dir, 'dockerd.pid'),
      '--iptables=false',
      '--ip6tables=false',
      '--ip-forward=false',
      '--ip-masq=false',
      `--bridge=${this.bridge}`,
      '--containerd-namespace',
      'berth-test',
      '--containerd-plugins-namespace',
      'berth-test-plugins',
      ...this.extraArgs,
    ];
    this.proc = spawn('dockerd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (b: Buffer) => {
      this.log += b.toString();
    });
    this.proc.stderr!.on('data', (b: Buffer) => {
      this.log += b.toString();
    });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`dockerd exited:\n${this.log}`);
      try {
        if ((await http(this.socket, 'GET', '/_ping')).status === 200) return;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`dockerd did not start:\n${this.log}`);
  }

  docker(args: string[], opts: { input?: string | Buffer } = {}): Promise<RunResult> {
    return run('docker', args, { ...opts, env: { ...process.env, DOCKER_HOST: `unix://${this.socket}`, DOCKER_CONFIG: join(this.dir, 'docker-config') } });
  }

  async cleanup(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null) {
      const done = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGTERM');
      await done;
    }
    spawnSync('sh', ['-c', `grep ' ${this.dir}' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r umount -l`]);
    spawnSync('ip', ['link', 'del', this.bridge], { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Files under `root` (relative path → contents), their directories made: a fixture tree such as a cgroup hierarchy. */
export function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, body] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, body);
  }
}
