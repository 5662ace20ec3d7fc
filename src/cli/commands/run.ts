/** `run` and `create`: the create request from run-options.ts, the pull policy, then (for run) attach, start and wait. */
import { ApiError } from '../../client/client.js';
import { CliExit, type Cli, type Command } from '../cli.js';
import { CREATE_FLAGS, RUN_ONLY_FLAGS, createRequest } from './run-options.js';
import { checkDetachKeys, detachKeysOf, pumpInput, pumpOutput, resize, waitStatus } from './attach-io.js';

/** docker run's exit status for a failed start: 126 not executable, 127 not found, 125 otherwise. */
function startFailureCode(msg: string): number {
  if (/executable file not found|no such file or directory/i.test(msg)) return 127;
  if (/permission denied/i.test(msg)) return 126;
  return 125;
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
    const exitCode = waitStatus(waitRes);
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
