/** Container commands: run, create, start, stop, kill, rm, ps, logs, wait, attach and the rest. */
import type { Socket } from 'node:net';
import { ApiError, type Client } from '../../client/client.js';
import { encodeFilters } from '../../core/filters.js';
import { Demuxer } from '../../core/wire/stdcopy.js';
import { DEFAULT_DETACH_KEYS, EscapeScanner, parseDetachKeys } from '../../core/detach-keys.js';
import { CliExit, type Cli, type Command } from '../cli.js';
import { formatRows, renderOne } from '../format/formatter.js';
import { humanSize, createdSince } from '../format/units.js';
import { displayablePorts, type ApiPort } from '../format/ports.js';
import { confirm } from './confirm.js';
import { CREATE_FLAGS, RUN_ONLY_FLAGS, createRequest, ramInBytes } from './run-options.js';
import { configuredDetachKeys } from '../credentials.js';

interface Inspect {
  Id: string;
  Name: string;
  Config: { Tty: boolean; OpenStdin: boolean; AttachStdin?: boolean };
  State: { Running: boolean; ExitCode: number };
}

function daemonError(e: unknown): never {
  if (e instanceof ApiError) throw new CliExit(1, `Error response from daemon: ${e.message}`);
  throw e;
}

/** docker run's exit status for a failed start: 126 not executable, 127 not found, 125 otherwise. */
function startFailureCode(msg: string): number {
  if (/executable file not found|no such file or directory/i.test(msg)) return 127;
  if (/permission denied/i.test(msg)) return 126;
  return 125;
}

/** Copy a hijacked stream to our stdout/stderr: raw for a TTY, demultiplexed otherwise. */
function pumpOutput(sock: Socket, tty: boolean): Promise<void> {
  return new Promise((resolve) => {
    if (tty) {
      sock.on('data', (b: Buffer) => process.stdout.write(b));
    } else {
      const d = new Demuxer();
      sock.on('data', (b: Buffer) => {
        for (const f of d.push(b)) (f.stream === 2 ? process.stderr : process.stdout).write(f.data);
      });
    }
    sock.on('end', () => resolve());
    sock.on('close', () => resolve());
    sock.on('error', () => resolve());
  });
}

/**
 * Forward our terminal (or piped stdin) into the container. On a TTY the detach keys
 * (docker's ctrl-p ctrl-q unless --detach-keys says otherwise) are caught here: they
 * call `onDetach` instead of reaching the container.
 */
function pumpInput(sock: Socket, tty: boolean, detachKeys: string | undefined, onDetach: () => void): () => void {
  const stdin = process.stdin;
  if (tty && stdin.isTTY) stdin.setRawMode(true);
  const scan = tty ? new EscapeScanner(parseDetachKeys(detachKeys || DEFAULT_DETACH_KEYS)) : null;
  const onData = (b: Buffer) => {
    const out = scan ? scan.push(b) : b;
    if (out.length) sock.write(out);
    if (scan?.detached) onDetach();
  };
  stdin.on('data', onData);
  stdin.on('end', () => sock.end());
  return () => {
    stdin.off('data', onData);
    if (tty && stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
  };
}

/** --detach-keys, else config.json's detachKeys (docker's order). */
function detachKeysOf(f: Record<string, unknown>): string | undefined {
  return (f['detach-keys'] as string | undefined) || configuredDetachKeys();
}

/** Check --detach-keys before anything starts, with docker's words. */
function checkDetachKeys(spec: string | undefined): void {
  if (!spec) return;
  try {
    parseDetachKeys(spec);
  } catch (e) {
    throw new CliExit(125, `berth: Invalid detach keys (${spec}) provided: ${(e as Error).message}.`);
  }
}

async function resize(client: Client, id: string): Promise<void> {
  if (!process.stdout.isTTY) return;
  await client.json('POST', `/containers/${id}/resize`, { query: { h: process.stdout.rows, w: process.stdout.columns } }).catch(() => {});
}

async function createContainer(cli: Cli, f: Record<string, unknown>, args: string[], detached: boolean): Promise<string> {
  const [image, ...cmd] = args;
  const body = createRequest(f as never, image!, cmd, detached);
  const client = await cli.client();
  const policy = (f.pull as string | undefined) ?? 'missing';
  if (!['always', 'missing', 'never'].includes(policy))
    throw new CliExit(125, `berth: invalid pull option: '${policy}': must be one of "always", "missing" or "never".\nSee 'berth run --help'.`);
  const pull = async () => {
    const { pullForContainer } = await import('./distribution.js');
    await pullForContainer(cli, image!, (f.platform as string | undefined) || undefined, !!f.quiet);
  };
  const create = () =>
    client.json<{ Id: string; Warnings?: string[] }>('POST', '/containers/create', {
      query: { name: f.name as string | undefined, platform: (f.platform as string | undefined) || undefined },
      body,
    });
  const daemonError = (e: ApiError) => new CliExit(125, `berth: Error response from daemon: ${e.message}.\nSee 'berth run --help'.`);
  try {
    if (policy === 'always') await pull();
    let r: { Id: string; Warnings?: string[] };
    try {
      r = await create();
    } catch (e) {
      // A local image for another platform than asked is missing too: pull the right one.
      if (!(e instanceof ApiError && e.status === 404 && /No such image|does not match the specified platform/.test(e.message))) throw e;
      const familiar = image!.includes(':') || image!.includes('@') ? image : `${image}:latest`;
      cli.err(`Unable to find image '${familiar}' locally\n`);
      if (policy !== 'missing') throw e;
      await pull();
      r = await create();
    }
    for (const w of r.Warnings ?? []) cli.err(`WARNING: ${w}\n`);
    return r.Id;
  } catch (e) {
    if (e instanceof ApiError) throw daemonError(e);
    if (e instanceof CliExit && e.code === 1) throw new CliExit(125, e.message);
    throw e;
  }
}

export const runCmd: Command = {
  usage: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]',
  summary: 'Create and run a new container from an image',
  args: { min: 1 },
  stopAtArg: true,
  flags: [...CREATE_FLAGS, ...RUN_ONLY_FLAGS],
  async run(cli, args, f) {
    const detached = !!f.detach;
    const detachKeys = detachKeysOf(f);
    checkDetachKeys(detachKeys);
    const id = await createContainer(cli, f, args, detached);
    const client = await cli.client();
    if (detached) {
      try {
        await client.json('POST', `/containers/${id}/start`);
      } catch (e) {
        if (e instanceof ApiError) throw new CliExit(startFailureCode(e.message), `berth: Error response from daemon: ${e.message}.`);
        throw e;
      }
      cli.out(`${id}\n`);
      return 0;
    }
    const tty = !!f.tty;
    const attach = (f.attach as string[]).map((s) => s.toLowerCase());
    const wantStdin = !!f.interactive || attach.includes('stdin');
    // The attach and the wait side by side, both in place before the start, so neither output
    // nor the exit of a container that ends at once is missed.
    const attaching = client.hijack('POST', `/containers/${id}/attach`, {
      query: {
        stream: 1,
        stdin: wantStdin ? 1 : 0,
        stdout: attach.length === 0 || attach.includes('stdout') ? 1 : 0,
        stderr: attach.length === 0 || attach.includes('stderr') ? 1 : 0,
        detachKeys,
      },
    });
    const waiting = client.request('POST', `/containers/${id}/wait`, { query: { condition: f.rm ? 'removed' : 'next-exit' } });
    const [att, wt] = await Promise.allSettled([attaching, waiting]);
    if (att.status === 'rejected' || wt.status === 'rejected') {
      if (att.status === 'fulfilled') att.value.destroy();
      if (wt.status === 'fulfilled') wt.value.destroy();
      throw att.status === 'rejected' ? att.reason : (wt as PromiseRejectedResult).reason;
    }
    const sock = att.value;
    const waitRes = wt.value;
    const exitCode = (async () => {
      const chunks: Buffer[] = [];
      for await (const c of waitRes) chunks.push(c as Buffer);
      return (JSON.parse(Buffer.concat(chunks).toString()) as { StatusCode: number }).StatusCode;
    })();
    exitCode.catch(() => {});
    const output = pumpOutput(sock, tty);
    // Raw mode before the start: a shell's first cursor query (ESC[6n) must be answered
    // straight away, not held in a cooked terminal's line buffer until Enter.
    let stopInput = () => {};
    let userDetached = false;
    if (wantStdin)
      stopInput = pumpInput(sock, tty, detachKeys, () => {
        userDetached = true;
        sock.destroy();
      });
    try {
      await client.json('POST', `/containers/${id}/start`);
    } catch (e) {
      stopInput();
      sock.destroy();
      if (e instanceof ApiError) {
        if (f.rm) await client.json('DELETE', `/containers/${id}`, { query: { force: 1 } }).catch(() => {});
        throw new CliExit(startFailureCode(e.message), `berth: Error response from daemon: ${e.message}.`);
      }
      throw e;
    }
    if (tty) {
      await resize(client, id);
      process.stdout.on('resize', () => void resize(client, id));
    }
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
    if (f['sig-proxy'] !== false && !tty) {
      for (const s of signals)
        process.on(s, () => {
          void client.json('POST', `/containers/${id}/kill`, { query: { signal: s } }).catch(() => {});
        });
    }
    await output;
    stopInput();
    if (userDetached) {
      waitRes.destroy();
      return 0;
    }
    const code = await exitCode;
    return code;
  },
};

export const createCmd: Command = {
  usage: 'create [OPTIONS] IMAGE [COMMAND] [ARG...]',
  summary: 'Create a new container',
  args: { min: 1 },
  stopAtArg: true,
  flags: CREATE_FLAGS,
  async run(cli, args, f) {
    cli.out(`${await createContainer(cli, f, args, false)}\n`);
  },
};

/** Run `fn` for each named container, printing its name on success and docker's error otherwise. */
async function eachContainer(cli: Cli, names: string[], fn: (client: Client, name: string) => Promise<void>, echo = true): Promise<number> {
  const client = await cli.client();
  const errors: string[] = [];
  for (const n of names) {
    try {
      await fn(client, n);
      if (echo) cli.out(`${n}\n`);
    } catch (e) {
      if (e instanceof ApiError) errors.push(`Error response from daemon: ${e.message}`);
      else throw e;
    }
  }
  if (errors.length) {
    cli.err(errors.join('\n') + '\n');
    return 1;
  }
  return 0;
}

export const startCmd: Command = {
  usage: 'start [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Start one or more stopped containers',
  args: { min: 1 },
  flags: [
    { name: 'attach', short: 'a', type: 'bool', help: 'Attach STDOUT/STDERR and forward signals' },
    { name: 'interactive', short: 'i', type: 'bool', help: "Attach container's STDIN" },
    { name: 'detach-keys', type: 'string', help: 'Override the key sequence for detaching a container' },
  ],
  async run(cli, args, f) {
    if (!f.attach && !f.interactive) {
      return eachContainer(cli, args, async (c, n) => {
        await c.json('POST', `/containers/${encodeURIComponent(n)}/start`);
      });
    }
    if (args.length > 1) throw new CliexitMulti();
    const client = await cli.client();
    const info = await client.json<Inspect>('GET', `/containers/${encodeURIComponent(args[0]!)}/json`).catch(daemonError);
    const sock = await client.hijack('POST', `/containers/${info.Id}/attach`, { query: { stream: 1, stdin: f.interactive ? 1 : 0, stdout: 1, stderr: 1 } });
    const waitRes = await client.request('POST', `/containers/${info.Id}/wait`, { query: { condition: 'next-exit' } });
    const output = pumpOutput(sock, info.Config.Tty);
    await client.json('POST', `/containers/${info.Id}/start`).catch(daemonError);
    let userDetached = false;
    const stop = f.interactive
      ? pumpInput(sock, info.Config.Tty, detachKeysOf(f), () => {
          userDetached = true;
          sock.destroy();
        })
      : () => {};
    await output;
    stop();
    if (userDetached) {
      waitRes.destroy();
      return 0;
    }
    const chunks: Buffer[] = [];
    for await (const c of waitRes) chunks.push(c as Buffer);
    return (JSON.parse(Buffer.concat(chunks).toString()) as { StatusCode: number }).StatusCode;
  },
};

class CliexitMulti extends CliExit {
  constructor() {
    super(1, 'you cannot start and attach multiple containers at once');
  }
}

export const stopCmd: Command = {
  usage: 'stop [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Stop one or more running containers',
  args: { min: 1 },
  flags: [
    { name: 'time', short: 't', type: 'int', help: 'Seconds to wait before killing the container' },
    { name: 'signal', short: 's', type: 'string', help: 'Signal to send to the container' },
  ],
  async run(cli, args, f) {
    return eachContainer(cli, args, async (c, n) => {
      await c.json('POST', `/containers/${encodeURIComponent(n)}/stop`, { query: { t: f.time as number | undefined, signal: f.signal as string | undefined } });
    });
  },
};

export const restartCmd: Command = {
  usage: 'restart [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Restart one or more containers',
  args: { min: 1 },
  flags: [{ name: 'time', short: 't', type: 'int', help: 'Seconds to wait before killing the container' }],
  async run(cli, args, f) {
    return eachContainer(cli, args, async (c, n) => {
      await c.json('POST', `/containers/${encodeURIComponent(n)}/restart`, { query: { t: f.time as number | undefined } });
    });
  },
};

export const killCmd: Command = {
  usage: 'kill [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Kill one or more running containers',
  args: { min: 1 },
  flags: [{ name: 'signal', short: 's', type: 'string', help: 'Signal to send to the container' }],
  async run(cli, args, f) {
    return eachContainer(cli, args, async (c, n) => {
      await c.json('POST', `/containers/${encodeURIComponent(n)}/kill`, { query: { signal: f.signal as string | undefined } });
    });
  },
};

export const rmCmd: Command = {
  usage: 'rm [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Remove one or more containers',
  args: { min: 1 },
  flags: [
    { name: 'force', short: 'f', type: 'bool', help: 'Force the removal of a running container (uses SIGKILL)' },
    { name: 'volumes', short: 'v', type: 'bool', help: 'Remove anonymous volumes associated with the container' },
    { name: 'link', short: 'l', type: 'bool', help: 'Remove the specified link' },
  ],
  async run(cli, args, f) {
    return eachContainer(cli, args, async (c, n) => {
      try {
        await c.json('DELETE', `/containers/${encodeURIComponent(n)}`, {
          query: { force: f.force ? 1 : undefined, v: f.volumes ? 1 : undefined, link: f.link ? 1 : undefined },
        });
      } catch (e) {
        // rm -f of a container that is not there is not an error, as in docker.
        if (f.force && e instanceof ApiError && e.status === 404) return;
        throw e;
      }
    });
  },
};

export const pauseCmd: Command = {
  usage: 'pause CONTAINER [CONTAINER...]',
  summary: 'Pause all processes within one or more containers',
  args: { min: 1 },
  flags: [],
  async run(cli, args) {
    return eachContainer(cli, args, async (c, n) => {
      await c.json('POST', `/containers/${encodeURIComponent(n)}/pause`);
    });
  },
};

export const unpauseCmd: Command = {
  usage: 'unpause CONTAINER [CONTAINER...]',
  summary: 'Unpause all processes within one or more containers',
  args: { min: 1 },
  flags: [],
  async run(cli, args) {
    return eachContainer(cli, args, async (c, n) => {
      await c.json('POST', `/containers/${encodeURIComponent(n)}/unpause`);
    });
  },
};

export const waitCmd: Command = {
  usage: 'wait CONTAINER [CONTAINER...]',
  summary: 'Block until one or more containers stop, then print their exit codes',
  args: { min: 1 },
  flags: [],
  async run(cli, args) {
    return eachContainer(
      cli,
      args,
      async (c, n) => {
        const r = await c.json<{ StatusCode: number }>('POST', `/containers/${encodeURIComponent(n)}/wait`);
        cli.out(`${r.StatusCode}\n`);
      },
      false,
    );
  },
};

export const renameCmd: Command = {
  usage: 'rename CONTAINER NEW_NAME',
  summary: 'Rename a container',
  args: { min: 2, max: 2 },
  flags: [],
  async run(cli, args) {
    const client = await cli.client();
    await client.json('POST', `/containers/${encodeURIComponent(args[0]!)}/rename`, { query: { name: args[1] } }).catch(daemonError);
  },
};

export const topCmd: Command = {
  usage: 'top CONTAINER [ps OPTIONS]',
  summary: 'Display the running processes of a container',
  args: { min: 1 },
  stopAtArg: true,
  flags: [],
  async run(cli, args) {
    const client = await cli.client();
    const r = await client
      .json<{ Titles: string[]; Processes: string[][] }>('GET', `/containers/${encodeURIComponent(args[0]!)}/top`, {
        query: { ps_args: args.slice(1).join(' ') || undefined },
      })
      .catch(daemonError);
    const rows = r.Processes.map((p) => Object.fromEntries(r.Titles.map((t, i) => [t, p[i] ?? ''])));
    cli.out(
      formatRows(`table ${r.Titles.map((t) => `{{index . "${t}"}}`).join('\t')}`, rows, Object.fromEntries(r.Titles.map((t) => [t, t])), { contextType: null }),
    );
  },
};

export const updateCmd: Command = {
  usage: 'update [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Update configuration of one or more containers',
  args: { min: 1 },
  flags: [
    { name: 'memory', short: 'm', type: 'string', help: 'Memory limit' },
    { name: 'memory-swap', type: 'string', help: 'Swap limit equal to memory plus swap: -1 to enable unlimited swap' },
    { name: 'memory-reservation', type: 'string', help: 'Memory soft limit' },
    { name: 'cpus', type: 'string', help: 'Number of CPUs' },
    { name: 'cpu-shares', short: 'c', type: 'int', help: 'CPU shares (relative weight)' },
    { name: 'cpu-quota', type: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
    { name: 'cpu-period', type: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) period' },
    { name: 'cpuset-cpus', type: 'string', help: 'CPUs in which to allow execution (0-3, 0,1)' },
    { name: 'cpuset-mems', type: 'string', help: 'MEMs in which to allow execution (0-3, 0,1)' },
    { name: 'pids-limit', type: 'int', help: 'Tune container pids limit (set -1 for unlimited)' },
    { name: 'blkio-weight', type: 'int', help: 'Block IO (relative weight), between 10 and 1000, or 0 to disable' },
    { name: 'restart', type: 'string', help: 'Restart policy to apply when a container exits' },
  ],
  async run(cli, args, f) {
    const body: Record<string, unknown> = {};
    if (f.memory) body.Memory = ramInBytes('memory', f.memory as string);
    if (f['memory-swap']) body.MemorySwap = f['memory-swap'] === '-1' ? -1 : ramInBytes('memory-swap', f['memory-swap'] as string);
    if (f['memory-reservation']) body.MemoryReservation = ramInBytes('memory-reservation', f['memory-reservation'] as string);
    if (f.cpus) body.NanoCpus = Math.round(Number(f.cpus) * 1e9);
    if (f['cpu-shares'] !== undefined) body.CpuShares = f['cpu-shares'];
    if (f['cpu-quota'] !== undefined) body.CpuQuota = f['cpu-quota'];
    if (f['cpu-period'] !== undefined) body.CpuPeriod = f['cpu-period'];
    if (f['cpuset-cpus']) body.CpusetCpus = f['cpuset-cpus'];
    if (f['cpuset-mems']) body.CpusetMems = f['cpuset-mems'];
    if (f['pids-limit'] !== undefined) body.PidsLimit = f['pids-limit'];
    if (f['blkio-weight'] !== undefined) body.BlkioWeight = f['blkio-weight'];
    if (f.restart) {
      const [n, c] = (f.restart as string).split(':');
      body.RestartPolicy = { Name: n, MaximumRetryCount: c ? Number(c) : 0 };
    }
    return eachContainer(cli, args, async (c, n) => {
      await c.json('POST', `/containers/${encodeURIComponent(n)}/update`, { body });
    });
  },
};

export const logsCmd: Command = {
  usage: 'logs [OPTIONS] CONTAINER',
  summary: 'Fetch the logs of a container',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'follow', short: 'f', type: 'bool', help: 'Follow log output' },
    { name: 'tail', short: 'n', type: 'string', help: 'Number of lines to show from the end of the logs', default: 'all' },
    { name: 'since', type: 'string', help: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { name: 'until', type: 'string', help: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { name: 'timestamps', short: 't', type: 'bool', help: 'Show timestamps' },
    { name: 'details', type: 'bool', help: 'Show extra details provided to logs' },
  ],
  async run(cli, args, f) {
    const client = await cli.client();
    const info = await client.json<Inspect>('GET', `/containers/${encodeURIComponent(args[0]!)}/json`).catch(daemonError);
    const res = await client
      .request('GET', `/containers/${info.Id}/logs`, {
        query: {
          stdout: 1,
          stderr: 1,
          follow: f.follow ? 1 : undefined,
          tail: f.tail as string,
          since: f.since as string | undefined,
          until: f.until as string | undefined,
          timestamps: f.timestamps ? 1 : undefined,
          details: f.details ? 1 : undefined,
        },
      })
      .catch(daemonError);
    const d = new Demuxer();
    for await (const chunk of res) {
      if (info.Config.Tty) {
        process.stdout.write(chunk as Buffer);
        continue;
      }
      for (const fr of d.push(chunk as Buffer)) (fr.stream === 2 ? process.stderr : process.stdout).write(fr.data);
    }
  },
};

export const attachCmd: Command = {
  usage: 'attach [OPTIONS] CONTAINER',
  summary: 'Attach local standard input, output, and error streams to a running container',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'no-stdin', type: 'bool', help: 'Do not attach STDIN' },
    { name: 'sig-proxy', type: 'bool', help: 'Proxy all received signals to the process', default: true },
    { name: 'detach-keys', type: 'string', help: 'Override the key sequence for detaching a container' },
  ],
  async run(cli, args, f) {
    const client = await cli.client();
    const info = await client.json<Inspect>('GET', `/containers/${encodeURIComponent(args[0]!)}/json`).catch(daemonError);
    if (!info.State.Running) throw new CliExit(1, 'You cannot attach to a stopped container, start it first');
    const stdin = !f['no-stdin'] && info.Config.OpenStdin;
    const detachKeys = detachKeysOf(f);
    checkDetachKeys(detachKeys);
    const sock = await client
      .hijack('POST', `/containers/${info.Id}/attach`, { query: { stream: 1, stdin: stdin ? 1 : 0, stdout: 1, stderr: 1, detachKeys } })
      .catch(daemonError);
    const waitRes = await client.request('POST', `/containers/${info.Id}/wait`, { query: { condition: 'next-exit' } });
    const out = pumpOutput(sock, info.Config.Tty);
    let userDetached = false;
    const stop = stdin
      ? pumpInput(sock, info.Config.Tty, detachKeys, () => {
          userDetached = true;
          sock.destroy();
        })
      : () => {};
    if (info.Config.Tty) {
      await resize(client, info.Id);
      process.stdout.on('resize', () => void resize(client, info.Id));
    }
    await out;
    stop();
    // docker attach reports a detach as an error; run and start -ai do not.
    if (userDetached) {
      waitRes.destroy();
      throw new CliExit(1, 'read escape sequence');
    }
    const chunks: Buffer[] = [];
    for await (const c of waitRes) chunks.push(c as Buffer);
    return (JSON.parse(Buffer.concat(chunks).toString()) as { StatusCode: number }).StatusCode;
  },
};

interface ListEntry {
  Id: string;
  Names: string[];
  Image: string;
  Command: string;
  Created: number;
  Status: string;
  State: string;
  Ports: unknown[];
  Labels: Record<string, string>;
  SizeRw?: number;
  SizeRootFs?: number;
  Mounts: unknown[];
}

export const psCmd: Command = {
  usage: 'ps [OPTIONS]',
  summary: 'List containers',
  args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', type: 'bool', help: 'Show all containers (default shows just running)' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only display container IDs' },
    { name: 'size', short: 's', type: 'bool', help: 'Display total file sizes' },
    { name: 'last', short: 'n', type: 'int', help: 'Show n last created containers (includes all states)', default: -1 },
    { name: 'latest', short: 'l', type: 'bool', help: 'Show the latest created container (includes all states)' },
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
    { name: 'filter', short: 'f', type: 'strings', help: 'Filter output based on conditions provided' },
    { name: 'format', type: 'string', help: 'Format output using a custom template' },
  ],
  async run(cli, _args, f) {
    const client = await cli.client();
    const filters = encodeFilters(f.filter as string[]);
    const limit = f.latest ? 1 : (f.last as number);
    const format = f.format as string | undefined;
    const list = await client
      .json<ListEntry[]>('GET', '/containers/json', {
        query: { all: f.all ? 1 : undefined, limit: limit > 0 ? limit : undefined, size: f.size ? 1 : undefined, filters },
      })
      .catch(daemonError);
    const noTrunc = !!f['no-trunc'];
    if (f.quiet && !format) {
      for (const c of list) cli.out(`${noTrunc ? c.Id : c.Id.slice(0, 12)}\n`);
      return;
    }
    const rows = list.map((c) => {
      let cmd = c.Command;
      if (!noTrunc && [...cmd].length > 20) cmd = [...cmd].slice(0, 19).join('') + '…';
      return {
        ID: noTrunc ? c.Id : c.Id.slice(0, 12),
        Image: c.Image,
        Command: `"${cmd}"`,
        CreatedAt: new Date(c.Created * 1000)
          .toISOString()
          .replace('T', ' ')
          .replace(/\.\d+Z$/, ' +0000 UTC'),
        RunningFor: createdSince(c.Created),
        Ports: displayablePorts((c.Ports ?? []) as ApiPort[]),
        State: c.State,
        Status: c.Status,
        Size: c.SizeRw !== undefined ? `${humanSize(c.SizeRw)} (virtual ${humanSize(c.SizeRootFs ?? 0)})` : '0B',
        Names: c.Names.map((n) => n.slice(1)).join(','),
        Labels: Object.entries(c.Labels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
        Mounts: '',
        Networks: '',
      };
    });
    let fmt = format || 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';
    if (f.quiet) fmt = '{{.ID}}';
    if (f.size && !format) fmt += '\t{{.Size}}';
    cli.out(
      formatRows(fmt, rows, {
        ID: 'CONTAINER ID',
        Image: 'IMAGE',
        Command: 'COMMAND',
        CreatedAt: 'CREATED AT',
        RunningFor: 'CREATED',
        Ports: 'PORTS',
        State: 'STATE',
        Status: 'STATUS',
        Size: 'SIZE',
        Names: 'NAMES',
        Labels: 'LABELS',
        Mounts: 'MOUNTS',
        Networks: 'NETWORKS',
      }),
    );
  },
};

export const pruneCmd: Command = {
  usage: 'container prune [OPTIONS]',
  summary: 'Remove all stopped containers',
  args: { max: 0 },
  flags: [
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
    { name: 'filter', type: 'strings', help: 'Provide filter values (e.g. "until=<timestamp>")' },
  ],
  async run(cli, _args, f) {
    if (!f.force && !(await confirm(cli, 'WARNING! This will remove all stopped containers.'))) return;
    const client = await cli.client();
    const r = await client
      .json<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/containers/prune', {
        query: { filters: encodeFilters(f.filter as string[]) },
      })
      .catch(daemonError);
    if (r.ContainersDeleted?.length) cli.out(`Deleted Containers:\n${r.ContainersDeleted.join('\n')}\n\n`);
    cli.out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
  },
};

export const containerInspectCmd: Command = {
  usage: 'container inspect [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Display detailed information on one or more containers',
  args: { min: 1 },
  flags: [
    { name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template' },
    { name: 'size', short: 's', type: 'bool', help: 'Display total file sizes' },
  ],
  async run(cli, args, f) {
    const client = await cli.client();
    const found: unknown[] = [];
    const errors: string[] = [];
    for (const n of args) {
      try {
        found.push(await client.json('GET', `/containers/${encodeURIComponent(n)}/json`, { query: { size: f.size ? 1 : undefined } }));
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) errors.push(`Error response from daemon: ${e.message}`);
        else throw e;
      }
    }
    if (f.format) for (const o of found) cli.out(renderOne(f.format as string, o) + '\n');
    else cli.out(JSON.stringify(found, null, 4) + '\n');
    if (errors.length) {
      cli.err(errors.join('\n') + '\n');
      return 1;
    }
    return 0;
  },
};

export const execCmd: Command = {
  usage: 'exec [OPTIONS] CONTAINER COMMAND [ARG...]',
  summary: 'Execute a command in a running container',
  args: { min: 2 },
  stopAtArg: true,
  flags: [
    { name: 'detach', short: 'd', type: 'bool', help: 'Detached mode: run command in the background' },
    { name: 'interactive', short: 'i', type: 'bool', help: 'Keep STDIN open even if not attached' },
    { name: 'tty', short: 't', type: 'bool', help: 'Allocate a pseudo-TTY' },
    { name: 'env', short: 'e', type: 'strings', help: 'Set environment variables' },
    { name: 'env-file', type: 'strings', help: 'Read in a file of environment variables' },
    { name: 'user', short: 'u', type: 'string', help: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
    { name: 'workdir', short: 'w', type: 'string', help: 'Working directory inside the container' },
    { name: 'privileged', type: 'bool', help: 'Give extended privileges to the command' },
    { name: 'detach-keys', type: 'string', help: 'Override the key sequence for detaching a container' },
  ],
  async run(cli, args, f) {
    const [container, ...cmd] = args;
    checkDetachKeys(detachKeysOf(f));
    const client = await cli.client();
    const tty = !!f.tty;
    const env = (createRequest({ env: f.env, 'env-file': f['env-file'] } as never, '', [], true) as { Env: string[] }).Env;
    const { Id } = await client
      .json<{ Id: string }>('POST', `/containers/${encodeURIComponent(container!)}/exec`, {
        body: {
          AttachStdin: !!f.interactive && !f.detach,
          AttachStdout: !f.detach,
          AttachStderr: !f.detach,
          Tty: tty,
          Env: env,
          Cmd: cmd,
          User: (f.user as string | undefined) ?? '',
          WorkingDir: (f.workdir as string | undefined) ?? '',
          Privileged: !!f.privileged,
          DetachKeys: detachKeysOf(f) ?? '',
        },
      })
      .catch(daemonError);
    if (f.detach) {
      await client.json('POST', `/exec/${Id}/start`, { body: { Detach: true, Tty: tty } }).catch(daemonError);
      return 0;
    }
    const sock = await client.hijack('POST', `/exec/${Id}/start`, { body: { Detach: false, Tty: tty } }).catch(daemonError);
    const out = pumpOutput(sock, tty);
    let userDetached = false;
    const stop = f.interactive
      ? pumpInput(sock, tty, detachKeysOf(f), () => {
          userDetached = true;
          sock.destroy();
        })
      : () => {};
    const execResize = () => client.json('POST', `/exec/${Id}/resize`, { query: { h: process.stdout.rows, w: process.stdout.columns } }).catch(() => {});
    if (tty && process.stdout.isTTY) {
      await execResize();
      process.stdout.on('resize', () => void execResize());
    }
    await out;
    stop();
    if (userDetached) throw new CliExit(1, 'read escape sequence');
    const info = await client.json<{ ExitCode: number | null; Running: boolean }>('GET', `/exec/${Id}/json`);
    return info.ExitCode ?? 0;
  },
};
