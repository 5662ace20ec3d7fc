/** System commands: events, system check, plugin ls (version and info: version-info.ts; system df: system-df.ts). */
import { encodeFilters } from '../../core/filters.js';
import { parseTimestampOrDuration, timestampString } from '../../core/go-time.js';
import { CliExit, type Command } from '../cli.js';
import { formatRows, renderOne, listFormat } from '../format/formatter.js';

/** `--since`/`--until` as docker sends them (GetTimestamp): unix time as given, else RFC 3339 or a duration ago ("10m") resolved here. */
export function toTimestamp(v: string, now = Date.now()): string {
  if (/^\d+(\.\d+)?$/.test(v)) return v;
  try {
    return timestampString(parseTimestampOrDuration(v, new Date(now)));
  } catch (e) {
    throw new CliExit(1, (e as Error).message);
  }
}

function rfc3339Nano(timeNano: number): string {
  const ms = Math.floor(timeNano / 1e6);
  const iso = new Date(ms).toISOString().slice(0, 19);
  const frac = String(timeNano % 1e9)
    .padStart(9, '0')
    .replace(/0+$/, '');
  return `${iso}${frac ? '.' + frac : ''}Z`;
}

export const events: Command = {
  usage: 'events [OPTIONS]',
  summary: 'Get real time events from the server',
  args: { max: 0 },
  flags: [
    { name: 'filter', short: 'f', type: 'strings', help: 'Filter output based on conditions provided' },
    { name: 'format', type: 'string', help: 'Format output using a custom template' },
    { name: 'since', type: 'string', help: 'Show all events created since timestamp' },
    { name: 'until', type: 'string', help: 'Stream events until this timestamp' },
  ],
  async run(cli, _args, f) {
    const client = await cli.client();
    const filters = f.filter as string[];
    const res = await client.request('GET', '/events', {
      query: {
        since: f.since ? toTimestamp(f.since as string) : undefined,
        until: f.until ? toTimestamp(f.until as string) : undefined,
        filters: filters.length ? encodeFilters(filters) : undefined,
      },
    });
    const format = f.format as string | undefined;
    await client.stream(res, (ev) => {
      if (format) {
        cli.out((format === 'json' ? JSON.stringify(ev) : renderOne(format, ev)) + '\n');
        return;
      }
      const actor = ev.Actor as { ID: string; Attributes: Record<string, string> };
      const attrs = Object.keys(actor.Attributes ?? {})
        .sort()
        .map((k) => `${k}=${actor.Attributes[k]}`)
        .join(', ');
      cli.out(`${rfc3339Nano(ev.timeNano as number)} ${ev.Type} ${ev.Action} ${actor.ID}${attrs ? ` (${attrs})` : ''}\n`);
    });
  },
};

export const check: Command = {
  usage: 'system check [OPTIONS]',
  summary: "Verify every blob's digest and every image's layers; repair what cannot be trusted",
  args: { max: 0 },
  flags: [{ name: 'repair', type: 'bool', help: 'Remove corrupt blobs and the images that need them' }],
  async run(cli, _args, f) {
    type Report = { Blobs: number; Images: number; Layers: number; Problems: { kind: string; subject: string; detail: string }[]; Repaired: string[] };
    const r = await (await cli.client()).json<Report>('POST', '/berth/system/check', { query: { repair: f.repair as boolean } });
    cli.out(`Checked ${r.Blobs} blobs, ${r.Images} images, ${r.Layers} layers.\n`);
    for (const p of r.Problems) cli.out(`${p.kind} ${p.subject}: ${p.detail}\n`);
    for (const x of r.Repaired) cli.out(`repaired: ${x}\n`);
    if (r.Problems.length === 0) {
      cli.out('No problems found.\n');
      return 0;
    }
    return f.repair ? 0 : 1;
  },
};

/** `plugin ls`: Berth has no managed plugins, so docker's empty table (the daemon's list, filtered there). */
export const pluginLs: Command = {
  usage: 'plugin ls [OPTIONS]',
  summary: 'List plugins',
  args: { max: 0 },
  flags: [
    { name: 'filter', short: 'f', type: 'strings', help: "Provide filter values (e.g. 'enabled=true')" },
    { name: 'format', type: 'string', help: 'Format output using a custom template' },
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only display plugin IDs' },
  ],
  async run(cli, _args, f) {
    const filters = f.filter as string[];
    type Plugin = { Id: string; Name: string; Enabled: boolean; Config?: { Description?: string } };
    const list = await (await cli.client()).json<Plugin[]>('GET', '/plugins', { query: { filters: filters.length ? encodeFilters(filters) : undefined } });
    const rows = list.map((p) => ({
      ID: f['no-trunc'] ? p.Id : p.Id.slice(0, 12),
      Name: p.Name,
      Description: p.Config?.Description ?? '',
      Enabled: String(p.Enabled),
    }));
    const def = 'table {{.ID}}\t{{.Name}}\t{{.Description}}\t{{.Enabled}}';
    const format = listFormat((f.format as string | undefined) || (f.quiet ? '{{.ID}}' : undefined), def);
    cli.out(formatRows(format, rows, { ID: 'ID', Name: 'NAME', Description: 'DESCRIPTION', Enabled: 'ENABLED' }));
  },
};
