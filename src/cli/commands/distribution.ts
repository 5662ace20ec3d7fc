/** Registry commands: pull, push, login, logout, search. */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { encodeFilters } from '../../core/filters.js';
import { parseReference, familiarName, formatReference, fullName, DEFAULT_DOMAIN } from '../../core/reference.js';
import { CliExit, type Cli, type Command } from '../cli.js';
import type { Client } from '../../client/client.js';
import { formatRows, listFormat } from '../format/formatter.js';
import { ellipsis } from '../format/columns.js';
import { ProgressRenderer, StreamError, type StreamMessage } from '../format/progress.js';
import { encodeAuth, eraseCredentials, getCredentials, serverForImage, serverKey, storeCredentials, INDEX_SERVER } from '../credentials.js';

async function authHeader(image: string): Promise<Record<string, string>> {
  return { 'X-Registry-Auth': encodeAuth(await getCredentials(serverForImage(image))) };
}

/** Render a progress stream (or swallow it when quiet); a message carrying an error fails the command. */
async function renderStream(cli: Cli, client: Client, res: IncomingMessage, quiet: boolean, toStderr = false): Promise<void> {
  const stream = toStderr ? process.stderr : process.stdout;
  const write = (s: string) => {
    if (!quiet) toStderr ? cli.err(s) : cli.out(s);
  };
  const r = new ProgressRenderer(write, !quiet && !!stream.isTTY, stream.columns ?? 80);
  try {
    await client.stream(res, (m) => r.render(m as StreamMessage));
  } catch (err) {
    if (err instanceof StreamError) throw new CliExit(1, err.message);
    throw err;
  }
}

function refOrExit(name: string) {
  try {
    return parseReference(name);
  } catch (err) {
    throw new CliExit(1, `${(err as Error).message}`);
  }
}

/** pull's and push's tag rule: -a takes no tag or digest; without -a and without either, docker says it uses "latest". (push has refused a digest already.) */
function tagOrAll(cli: Cli, ref: ReturnType<typeof refOrExit>, all: boolean, quiet: boolean): void {
  if (all && (ref.tag !== undefined || ref.digest !== undefined)) throw new CliExit(1, "tag can't be used with --all-tags/-a");
  if (!all && ref.tag === undefined && ref.digest === undefined) {
    ref.tag = 'latest';
    if (!quiet) cli.out('Using default tag: latest\n');
  }
}

/** The name pull and push print at the end: the repository for -a, else the reference. */
const printedName = (ref: ReturnType<typeof refOrExit>, all: boolean): string => (all ? fullName(ref) : formatReference(ref));

export const pullCmd: Command = {
  usage: 'pull [OPTIONS] NAME[:TAG|@DIGEST]',
  summary: 'Download an image from a registry',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'all-tags', short: 'a', type: 'bool', help: 'Download all tagged images in the repository' },
    { name: 'disable-content-trust', type: 'bool', help: 'Skip image verification (default true)' },
    { name: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress verbose output' },
  ],
  async run(cli, args, f) {
    const quiet = f.quiet as boolean;
    const ref = refOrExit(args[0]!);
    const all = f['all-tags'] as boolean;
    tagOrAll(cli, ref, all, quiet);
    const platform = (f.platform as string | undefined) || process.env.DOCKER_DEFAULT_PLATFORM || undefined;
    const client = await cli.client();
    const res = await client.request('POST', '/images/create', {
      query: { fromImage: familiarName(ref), tag: all ? undefined : (ref.digest ?? ref.tag), platform },
      headers: await authHeader(args[0]!),
    });
    await renderStream(cli, client, res, quiet);
    cli.out(printedName(ref, all) + '\n');
  },
};

/**
 * Pull for `run`/`create` (--pull missing|always): progress on stderr as the
 * docker CLI prints it, so a container's stdout stays clean.
 */
export async function pullForContainer(cli: Cli, image: string, platform: string | undefined, quiet: boolean): Promise<void> {
  const ref = refOrExit(image);
  if (ref.tag === undefined && ref.digest === undefined) ref.tag = 'latest';
  const client = await cli.client();
  const res = await client.request('POST', '/images/create', {
    query: { fromImage: familiarName(ref), tag: ref.digest ?? ref.tag, platform },
    headers: await authHeader(image),
  });
  await renderStream(cli, client, res, quiet, true);
}

export const pushCmd: Command = {
  usage: 'push [OPTIONS] NAME[:TAG]',
  summary: 'Upload an image to a registry',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'all-tags', short: 'a', type: 'bool', help: 'Push all tags of an image to the repository' },
    { name: 'disable-content-trust', type: 'bool', help: 'Skip image signing (default true)' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress verbose output' },
  ],
  async run(cli, args, f) {
    const quiet = f.quiet as boolean;
    const ref = refOrExit(args[0]!);
    const all = f['all-tags'] as boolean;
    if (ref.digest !== undefined) throw new CliExit(1, 'cannot push a digest reference');
    tagOrAll(cli, ref, all, quiet);
    const client = await cli.client();
    const res = await client.request('POST', `/images/${encodeURIComponent(familiarName(ref))}/push`, {
      query: { tag: all ? undefined : ref.tag },
      headers: await authHeader(args[0]!),
    });
    await renderStream(cli, client, res, quiet);
    if (quiet) cli.out(printedName(ref, all) + '\n');
  },
};

/** Read a line from the terminal, without echo when `hidden`. */
function prompt(cli: Cli, question: string, hidden: boolean): Promise<string> {
  return new Promise((resolve) => {
    let muted = false;
    const out = new Writable({
      write(chunk, _e, cb) {
        if (!muted) process.stdout.write(chunk);
        cb();
      },
    });
    const rl = createInterface({ input: process.stdin, output: out, terminal: true });
    rl.question(question, (answer) => {
      rl.close();
      if (hidden) cli.out('\n');
      resolve(answer);
    });
    muted = hidden;
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export const loginCmd: Command = {
  usage: 'login [OPTIONS] [SERVER]',
  summary: 'Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.',
  args: { max: 1 },
  flags: [
    { name: 'password', short: 'p', type: 'string', help: 'Password or Personal Access Token (PAT)' },
    { name: 'password-stdin', type: 'bool', help: 'Take the Password or Personal Access Token (PAT) from stdin' },
    { name: 'username', short: 'u', type: 'string', help: 'Username' },
  ],
  async run(cli, args, f) {
    let username = f.username as string | undefined;
    let password = f.password as string | undefined;
    if (password !== undefined) cli.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    if (f['password-stdin']) {
      if (password !== undefined) throw new CliExit(1, '--password and --password-stdin are mutually exclusive');
      if (!username) throw new CliExit(1, 'Must provide --username with --password-stdin');
      password = (await readStdin()).trim();
    }
    const server = serverKey(args[0]);
    if (!username || password === undefined) {
      const stored = await getCredentials(server).catch(() => undefined);
      if (!username && password === undefined && stored?.username && stored.password) {
        username = stored.username;
        password = stored.password;
      } else {
        if (!process.stdin.isTTY) throw new CliExit(1, 'Error: Cannot perform an interactive login from a non TTY device');
        if (!username) username = (await prompt(cli, `Username${stored?.username ? ` (${stored.username})` : ''}: `, false)).trim() || stored?.username;
        if (!username) throw new CliExit(1, 'Error: Non-null Username Required');
        if (password === undefined) password = await prompt(cli, 'Password: ', true);
        if (!password) throw new CliExit(1, 'Error: Password Required');
      }
    }
    const client = await cli.client();
    const res = await client.json<{ Status: string; IdentityToken?: string }>('POST', '/auth', { body: { username, password, serveraddress: server } });
    const file = await storeCredentials(
      res.IdentityToken ? { username, identitytoken: res.IdentityToken, serveraddress: server } : { username, password, serveraddress: server },
    );
    if (file)
      cli.err(
        `WARNING! Your credentials are stored unencrypted in '${file}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n`,
      );
    cli.out(`${res.Status || 'Login Succeeded'}\n`);
  },
};

export const logoutCmd: Command = {
  usage: 'logout [SERVER]',
  summary: 'Log out from a registry.\nIf no server is specified, the default is defined by the daemon.',
  args: { max: 1 },
  flags: [],
  async run(cli, args) {
    const server = serverKey(args[0]);
    if (!(await eraseCredentials(server))) {
      cli.out(`Not logged in to ${server}\n`);
      return;
    }
    cli.out(`Removing login credentials for ${server}\n`);
  },
};

interface SearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
  is_automated: boolean;
}

export const searchCmd: Command = {
  usage: 'search [OPTIONS] TERM',
  summary: 'Search Docker Hub for images',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'filter', short: 'f', type: 'strings', help: 'Filter output based on conditions provided' },
    { name: 'format', type: 'string', help: 'Pretty-print search using a Go template' },
    { name: 'limit', type: 'int', help: 'Max number of search results' },
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
  ],
  async run(cli, args, f) {
    const client = await cli.client();
    const filters = f.filter as string[];
    const limit = f.limit as number | undefined;
    const term = args[0]!;
    const i = term.indexOf('/');
    const server = i > 0 && /[.:]|^localhost$/.test(term.slice(0, i)) ? term.slice(0, i) : DEFAULT_DOMAIN;
    const results = await client.json<SearchResult[]>('GET', '/images/search', {
      query: { term, limit: limit || undefined, filters: filters.length ? encodeFilters(filters) : undefined },
      headers: { 'X-Registry-Auth': encodeAuth(await getCredentials(server === DEFAULT_DOMAIN ? INDEX_SERVER : server)) },
    });
    const noTrunc = f['no-trunc'] as boolean;
    const rows = results.map((r) => {
      const desc = (r.description ?? '').replace(/\n/g, ' ');
      return {
        Name: r.name,
        Description: noTrunc ? desc : ellipsis(desc, 45),
        StarCount: String(r.star_count ?? 0),
        IsOfficial: r.is_official ? '[OK]' : '',
        IsAutomated: r.is_automated ? '[OK]' : '',
      };
    });
    const def = 'table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}';
    const format = listFormat(f.format as string | undefined, def);
    cli.out(formatRows(format, rows, { Name: 'NAME', Description: 'DESCRIPTION', StarCount: 'STARS', IsOfficial: 'OFFICIAL', IsAutomated: 'AUTOMATED' }));
  },
};
