/** Container listings: ps, container inspect and top, with docker's tables. */
import { encodeFilters } from '../../core/filters.js';
import type { Command } from '../cli.js';
import { formatRows } from '../format/formatter.js';
import { humanSize, createdSince } from '../format/units.js';
import { displayablePorts, type ApiPort } from '../format/ports.js';
import { ellipsis, goTimeUTC, labelsText } from '../format/columns.js';
import { daemonError } from './daemon-error.js';
import { daemonNotFound, printInspect } from './inspect-each.js';

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
      const cmd = noTrunc ? c.Command : ellipsis(c.Command, 20);
      return {
        ID: noTrunc ? c.Id : c.Id.slice(0, 12),
        Image: c.Image,
        Command: `"${cmd}"`,
        CreatedAt: goTimeUTC(new Date(c.Created * 1000)),
        RunningFor: createdSince(c.Created),
        Ports: displayablePorts((c.Ports ?? []) as ApiPort[]),
        State: c.State,
        Status: c.Status,
        Size: c.SizeRw !== undefined ? `${humanSize(c.SizeRw)} (virtual ${humanSize(c.SizeRootFs ?? 0)})` : '0B',
        Names: c.Names.map((n) => n.slice(1)).join(','),
        Labels: labelsText(c.Labels),
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
    return printInspect(
      cli,
      args,
      f.format as string | undefined,
      (n) => client.json('GET', `/containers/${encodeURIComponent(n)}/json`, { query: { size: f.size ? 1 : undefined } }),
      daemonNotFound,
    );
  },
};
