/** `volume` commands: clients of the /volumes routes, with docker's output. */
import { ApiError } from '../../client/client.js';
import { encodeFilters } from '../../core/filters.js';
import { CliExit, type Command } from '../cli.js';
import { formatRows } from '../format/formatter.js';
import { labelsText } from '../format/columns.js';
import { confirm } from './confirm.js';
import { inspectEach } from './inspect-each.js';
import { daemonError } from './daemon-error.js';
import { keyValues } from './key-values.js';
import { humanSize } from '../format/units.js';

interface VolumeEntry {
  Name: string;
  Driver: string;
  Scope: string;
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
}

export const create: Command = {
  usage: 'volume create [OPTIONS] [VOLUME]',
  summary: 'Create a volume',
  args: { max: 1 },
  flags: [
    { name: 'driver', short: 'd', type: 'string', help: 'Specify volume driver name', default: 'local' },
    { name: 'label', type: 'strings', help: 'Set metadata for a volume' },
    { name: 'opt', short: 'o', type: 'strings', help: 'Set driver specific options' },
    { name: 'name', type: 'string', help: 'Specify volume name', hidden: true },
  ],
  async run(cli, args, f) {
    if (args[0] && f.name && args[0] !== f.name) {
      throw new CliExit(1, `conflicting options: either specify --name or provide positional arg, not both`);
    }
    const client = await cli.client();
    const v = await client
      .json<VolumeEntry>('POST', '/volumes/create', {
        body: { Name: args[0] ?? f.name ?? '', Driver: f.driver, DriverOpts: keyValues(f.opt as string[]), Labels: keyValues(f.label as string[]) },
      })
      .catch(daemonError);
    cli.out(`${v.Name}\n`);
  },
};

export const list: Command = {
  usage: 'volume ls [OPTIONS]',
  summary: 'List volumes',
  args: { max: 0 },
  flags: [
    { name: 'filter', short: 'f', type: 'strings', help: "Provide filter values (e.g. 'dangling=true')" },
    { name: 'format', type: 'string', help: 'Format output using a custom template' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only display volume names' },
  ],
  async run(cli, _args, f) {
    const client = await cli.client();
    const r = await client
      .json<{ Volumes: VolumeEntry[] | null }>('GET', '/volumes', { query: { filters: encodeFilters(f.filter as string[]) } })
      .catch(daemonError);
    const vols = [...(r.Volumes ?? [])].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    const rows = vols.map((v) => ({
      Name: v.Name,
      Driver: v.Driver,
      Scope: v.Scope,
      Mountpoint: v.Mountpoint,
      CreatedAt: v.CreatedAt,
      Labels: labelsText(v.Labels),
      Links: 'N/A',
      Size: 'N/A',
    }));
    let fmt = (f.format as string | undefined) || 'table {{.Driver}}\t{{.Name}}';
    if (f.quiet) fmt = '{{.Name}}';
    cli.out(
      formatRows(
        fmt,
        rows,
        {
          Name: 'VOLUME NAME',
          Driver: 'DRIVER',
          Scope: 'SCOPE',
          Mountpoint: 'MOUNTPOINT',
          CreatedAt: 'CREATED',
          Labels: 'LABELS',
          Links: 'LINKS',
          Size: 'SIZE',
        },
        { contextType: '*formatter.volumeContext' },
      ),
    );
  },
};

export const inspect: Command = {
  usage: 'volume inspect [OPTIONS] VOLUME [VOLUME...]',
  summary: 'Display detailed information on one or more volumes',
  args: { min: 1 },
  flags: [{ name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template' }],
  async run(cli, args, f) {
    return inspectEach(cli, args, f.format as string | undefined, (n) => `/volumes/${encodeURIComponent(n)}`);
  },
};

export const remove: Command = {
  usage: 'volume rm [OPTIONS] VOLUME [VOLUME...]',
  summary: 'Remove one or more volumes',
  args: { min: 1 },
  flags: [{ name: 'force', short: 'f', type: 'bool', help: 'Force the removal of one or more volumes' }],
  async run(cli, args, f) {
    const client = await cli.client();
    let failed = false;
    for (const n of args) {
      try {
        await client.json('DELETE', `/volumes/${encodeURIComponent(n)}`, { query: f.force ? { force: '1' } : {} });
        cli.out(`${n}\n`);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        cli.err(`Error response from daemon: ${e.message}\n`);
        failed = true;
      }
    }
    return failed ? 1 : 0;
  },
};

export const prune: Command = {
  usage: 'volume prune [OPTIONS]',
  summary: 'Remove unused local volumes',
  args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', type: 'bool', help: 'Remove all unused volumes, not just anonymous ones' },
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
    { name: 'filter', type: 'strings', help: 'Provide filter values (e.g. "label=<label>")' },
  ],
  async run(cli, _args, f) {
    if (!f.force && !(await confirm(cli, `WARNING! This will remove ${f.all ? 'all' : 'anonymous'} local volumes not used by at least one container.`))) return;
    const filters = [...(f.filter as string[]), ...(f.all ? ['all=true'] : [])];
    const client = await cli.client();
    const r = await client
      .json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/volumes/prune', { query: { filters: encodeFilters(filters) } })
      .catch(daemonError);
    if (r.VolumesDeleted?.length) cli.out(`Deleted Volumes:\n${r.VolumesDeleted.join('\n')}\n\n`);
    cli.out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
  },
};
