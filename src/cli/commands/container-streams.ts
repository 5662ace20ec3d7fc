/** logs, attach and exec: the commands that stream a container's output (and our stdin into it). */
import { CliExit, type Command } from '../cli.js';
import { Demuxer } from '../../core/wire/stdcopy.js';
import { createRequest } from './run-options.js';
import { daemonError } from './daemon-error.js';
import { checkDetachKeys, detachKeysOf, inspectContainer, pumpInput, pumpOutput, resize, waitStatus } from './attach-io.js';

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
    const info = await inspectContainer(client, args[0]!);
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
    const info = await inspectContainer(client, args[0]!);
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
    return waitStatus(waitRes);
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
