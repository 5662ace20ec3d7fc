/** Container lifecycle commands: start, stop, restart, kill, rm, pause, unpause, wait, rename, update and prune. */
import { ApiError, type Client } from '../../client/client.js';
import { encodeFilters } from '../../core/filters.js';
import { CliExit, type Cli, type Command } from '../cli.js';
import { humanSize } from '../format/units.js';
import { confirm } from './confirm.js';
import { resourceFlags } from './run-options.js';
import { ramInBytes } from './size-flag.js';
import { daemonError } from './daemon-error.js';
import { detachKeysOf, inspectContainer, pumpInput, pumpOutput, waitStatus } from './attach-io.js';

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
    const info = await inspectContainer(client, args[0]!);
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
    return waitStatus(waitRes);
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

export const updateCmd: Command = {
  usage: 'update [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Update configuration of one or more containers',
  args: { min: 1 },
  flags: [
    ...resourceFlags('Swap limit equal to memory plus swap: -1 to enable unlimited swap'),
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
