/** import, load and save: images in and out of tar archives, streamed through the daemon. */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { parseReference } from '../../core/reference.js';
import { CliExit, type Cli, type Command } from '../cli.js';

/** Render a JSON progress stream the way docker does for plain (non-TTY) output. */
async function printStream(cli: Cli, res: import('node:http').IncomingMessage, quiet = false): Promise<void> {
  const client = await cli.client();
  let error: string | undefined;
  await client.stream(res, (m) => {
    if (m.error || m.errorDetail) {
      error = String((m.errorDetail as { message?: string } | undefined)?.message ?? m.error);
      return;
    }
    // Quiet drops progress only: "Loaded image: …" still prints, as with the docker CLI.
    if (typeof m.stream === 'string') cli.out(m.stream);
    else if (quiet) return;
    else if (typeof m.status === 'string') cli.out(`${m.id ? `${m.id}: ` : ''}${m.status}${m.progress ? ` ${m.progress}` : ''}\n`);
  });
  if (error) throw new CliExit(1, error);
}

export const importCmd: Command = {
  usage: 'import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
  summary: 'Import the contents from a tarball to create a filesystem image',
  args: { min: 1, max: 2 },
  flags: [
    { name: 'change', short: 'c', type: 'strings', help: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', type: 'string', help: 'Set commit message for imported image' },
    { name: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable' },
  ],
  async run(cli, [src, repo], f) {
    let body: Readable | undefined;
    let fromSrc = src;
    if (src === '-') body = process.stdin;
    else if (!/^https?:\/\//.test(src)) {
      if (!existsSync(src)) throw new CliExit(1, `open ${src}: no such file or directory`);
      body = createReadStream(src);
      fromSrc = '-';
    }
    if (repo) {
      try {
        parseReference(repo);
      } catch (e) {
        throw new CliExit(1, (e as Error).message);
      }
    }
    const client = await cli.client();
    const res = await client.request('POST', '/images/create', {
      query: { fromSrc, repo, message: f.message as string | undefined, changes: f.change as string[], platform: f.platform as string | undefined },
      body,
      headers: body ? { 'Content-Type': 'application/x-tar' } : undefined,
    });
    await printStream(cli, res);
  },
};

export const load: Command = {
  usage: 'load [OPTIONS]',
  summary: 'Load an image from a tar archive or STDIN',
  args: { max: 0 },
  flags: [
    { name: 'input', short: 'i', type: 'string', help: 'Read from tar archive file, instead of STDIN' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress the load output' },
  ],
  async run(cli, _args, f) {
    const input = f.input as string | undefined;
    let body: Readable;
    if (input) {
      if (!existsSync(input)) throw new CliExit(1, `open ${input}: no such file or directory`);
      body = createReadStream(input);
    } else {
      if (process.stdin.isTTY) throw new CliExit(1, 'requested load from stdin, but stdin is empty');
      body = process.stdin;
    }
    const client = await cli.client();
    const res = await client.request('POST', '/images/load', { query: { quiet: f.quiet as boolean }, body, headers: { 'Content-Type': 'application/x-tar' } });
    await printStream(cli, res, f.quiet as boolean);
  },
};

export const save: Command = {
  usage: 'save [OPTIONS] IMAGE [IMAGE...]',
  summary: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  args: { min: 1 },
  flags: [{ name: 'output', short: 'o', type: 'string', help: 'Write to a file, instead of STDOUT' }],
  async run(cli, args, f) {
    const output = f.output as string | undefined;
    if (!output && process.stdout.isTTY) throw new CliExit(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const client = await cli.client();
    const res = await client.request('GET', '/images/get', { query: { names: args } });
    if (!output) {
      await pipeline(res, process.stdout);
      return;
    }
    // Write beside the target and rename, so a failed save never leaves half a file under its name.
    const tmp = `${output}.berth-tmp-${process.pid}`;
    try {
      await pipeline(res, createWriteStream(tmp));
      if (!res.complete) throw new CliExit(1, 'save was interrupted: the daemon closed the stream early');
      await rename(tmp, output);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  },
};
