/** `berth context ls|inspect|create|use|rm`: docker's context commands, on the store docker uses (cli/contexts.ts). */
import { CliExit, type Cli, type Command } from '../cli.js';
import { formatRows, renderOne, isJsonFormat, listFormat } from '../format/formatter.js';
import { goJson } from '../format/go-json.js';
import {
  DEFAULT_CONTEXT,
  DEFAULT_DESCRIPTION,
  ContextError,
  checkName,
  exists,
  listContexts,
  metaPath,
  readContext,
  removeContext,
  setCurrentContext,
  tlsPath,
  writeContext,
  type ContextMeta,
} from '../contexts.js';

/** The "default" context: the host berth uses without one (-H, BERTH_HOST or its own socket). */
function defaultContext(cli: Cli): ContextMeta {
  return { Name: DEFAULT_CONTEXT, Metadata: { Description: DEFAULT_DESCRIPTION }, Endpoints: { docker: { Host: cli.defaultHost, SkipTLSVerify: false } } };
}

function lookup(cli: Cli, name: string): ContextMeta {
  return name === DEFAULT_CONTEXT ? defaultContext(cli) : readContext(name);
}

function overrideWarning(cli: Cli, what = 'a context'): void {
  if (process.env.BERTH_HOST) {
    cli.err(
      `Warning: BERTH_HOST environment variable overrides the active context. To use ${what}, either set the global --context flag, or unset BERTH_HOST environment variable.\n`,
    );
  }
}

/** A context error is docker's plain message and exit 1. */
function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ContextError) throw new CliExit(1, err.message);
    throw err;
  }
}

const LS_TABLE = 'table {{.Name}}{{if .Current}} *{{end}}\t{{.Description}}\t{{.DockerEndpoint}}\t{{.Error}}';

export const ls: Command = {
  usage: 'context ls [OPTIONS]',
  summary: 'List contexts',
  args: { max: 0 },
  flags: [
    { name: 'format', type: 'string', help: 'Format output using a custom template' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only show context names' },
  ],
  async run(cli, _args, f) {
    const current = cli.contextName;
    const all = [defaultContext(cli), ...listContexts()].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    if (f.quiet) {
      cli.out(all.map((c) => c.Name + '\n').join(''));
      overrideWarning(cli);
      return;
    }
    const rows = all.map((c) => ({
      Name: c.Name,
      Description: c.Metadata?.Description ?? '',
      DockerEndpoint: c.Endpoints?.docker?.Host ?? '',
      Current: c.Name === current,
      Error: '',
    }));
    const format = listFormat(f.format as string | undefined, LS_TABLE);
    if (isJsonFormat(format)) {
      cli.out(
        rows
          .map((r) => goJson({ Current: r.Current, Description: r.Description, DockerEndpoint: r.DockerEndpoint, Error: r.Error, Name: r.Name }) + '\n')
          .join(''),
      );
    } else {
      cli.out(formatRows(format, rows, { Name: 'NAME', Description: 'DESCRIPTION', DockerEndpoint: 'DOCKER ENDPOINT', Error: 'ERROR' }, { contextType: null }));
    }
    overrideWarning(cli);
  },
};

/** What `context inspect` shows: the stored metadata, its TLS material (none) and where it lives. */
function inspectView(c: ContextMeta): Record<string, unknown> {
  const stored = c.Name !== DEFAULT_CONTEXT;
  return {
    Name: c.Name,
    Metadata: stored ? (c.Metadata ?? {}) : {},
    Endpoints: c.Endpoints ?? {},
    TLSMaterial: {},
    Storage: { MetadataPath: stored ? metaPath(c.Name).replace(/\/meta\.json$/, '') : '<IN MEMORY>', TLSPath: stored ? tlsPath(c.Name) : '<IN MEMORY>' },
  };
}

export const inspect: Command = {
  usage: 'context inspect [OPTIONS] [CONTEXT] [CONTEXT...]',
  summary: 'Display detailed information on one or more contexts',
  flags: [{ name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template' }],
  async run(cli, args, f) {
    const names = args.length ? args : [cli.contextName];
    const found: Record<string, unknown>[] = [];
    let failure: string | undefined;
    for (const n of names) {
      try {
        found.push(inspectView(lookup(cli, n)));
      } catch (err) {
        if (!(err instanceof ContextError)) throw err;
        failure = err.message;
        break;
      }
    }
    if (f.format) for (const v of found) cli.out(renderOne(f.format as string, v) + '\n');
    else cli.out(found.length ? JSON.stringify(found, null, 4).replace(/[<>&]/g, (c) => '\\u00' + c.charCodeAt(0).toString(16)) + '\n' : '[]\n');
    if (failure) throw new CliExit(1, failure);
  },
};

/** `--docker host=…,skip-tls-verify=…` as docker reads it. */
function dockerEndpoint(spec: string): { Host: string; SkipTLSVerify: boolean } {
  const out = { Host: '', SkipTLSVerify: false };
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new CliExit(125, `invalid argument ${JSON.stringify(spec)} for "--docker" flag: ${spec} must be formatted as key=value`);
    const [k, v] = [part.slice(0, eq), part.slice(eq + 1)];
    if (k === 'host') out.Host = v;
    else if (k === 'skip-tls-verify') out.SkipTLSVerify = v === 'true' || v === '1';
    else if (!['ca', 'cert', 'key'].includes(k)) throw new CliExit(1, `unable to create docker endpoint config: unrecognized config key: ${k}`);
  }
  return out;
}

export const create: Command = {
  usage: 'context create [OPTIONS] CONTEXT',
  summary: 'Create a context',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'description', type: 'string', help: 'Description of the context' },
    { name: 'docker', type: 'string', help: 'set the docker endpoint (default [])' },
    { name: 'from', type: 'string', help: 'create context from a named context' },
  ],
  async run(cli, [name], f) {
    wrap(() => checkName(name!));
    if (name === DEFAULT_CONTEXT || exists(name!)) throw new CliExit(1, `context ${JSON.stringify(name)} already exists`);
    let meta: ContextMeta;
    if (f.docker) {
      meta = {
        Name: name!,
        Metadata: f.description ? { Description: f.description as string } : {},
        Endpoints: { docker: dockerEndpoint(f.docker as string) },
      };
    } else {
      // As docker: a context made without an endpoint copies the one it is made from (the current one by default).
      const from = wrap(() => lookup(cli, (f.from as string | undefined) || cli.contextName));
      const description = (f.description as string | undefined) || from.Metadata?.Description;
      meta = { Name: name!, Metadata: description ? { Description: description } : {}, Endpoints: from.Endpoints };
    }
    await writeContext(meta);
    cli.out(`${name}\n`);
    cli.err(`Successfully created context ${JSON.stringify(name)}\n`);
  },
};

export const use: Command = {
  usage: 'context use CONTEXT',
  summary: 'Set the current docker context',
  args: { min: 1, max: 1 },
  flags: [],
  async run(cli, [name]) {
    if (name !== DEFAULT_CONTEXT) wrap(() => readContext(name!));
    await setCurrentContext(name!);
    cli.out(`${name}\n`);
    cli.err(`Current context is now ${JSON.stringify(name)}\n`);
    overrideWarning(cli, JSON.stringify(name));
  },
};

export const rm: Command = {
  usage: 'context rm CONTEXT [CONTEXT...]',
  summary: 'Remove one or more contexts',
  args: { min: 1 },
  flags: [{ name: 'force', short: 'f', type: 'bool', help: 'Force the removal of a context in use' }],
  async run(cli, args, f) {
    // "In use" is the context this command runs with (BERTH_HOST overrides the stored one), as docker decides it.
    const current = cli.contextName;
    const errors: string[] = [];
    for (const name of args) {
      if (name === DEFAULT_CONTEXT) {
        errors.push(`context "default" cannot be removed`);
        continue;
      }
      // With -f a context that is not there is no error (docker removes what there is).
      if (!f.force && !exists(name)) {
        errors.push(`context ${JSON.stringify(name)} does not exist`);
        continue;
      }
      if (name === current) {
        if (!f.force) {
          errors.push(`context ${JSON.stringify(name)} is in use, set -f flag to force remove`);
          continue;
        }
        await setCurrentContext(DEFAULT_CONTEXT);
      }
      removeContext(name);
      cli.out(`${name}\n`);
    }
    if (errors.length) throw new CliExit(1, errors.join('\n'));
  },
};
