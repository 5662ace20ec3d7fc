/**
 * `berth stats`: docker's live table of CPU, memory, network, block I/O and PIDs.
 *
 * One stats stream per container (GET /containers/{id}/stats), the newest sample of
 * each kept; with --no-stream one sample each (the daemon takes two a second apart so
 * CPU % has a base) and a single table. Streaming redraws the table in place as docker
 * does: cursor home, each line followed by erase-to-end-of-line, then erase below.
 * Without container arguments the set follows the daemon's events: started containers
 * join, and (without -a) containers that stop or are removed leave.
 */
import type { IncomingMessage } from 'node:http';
import { ApiError, type Client } from '../../client/client.js';
import { CliExit, type Command } from '../cli.js';
import { formatRows, isTableFormat, listFormat } from '../format/formatter.js';
import { STATS_DEFAULT_FORMAT, STATS_HEADERS, statsRow, type ApiStats, type StatsRow } from '../format/stats.js';

/** Docker's CLI redraws twice a second. */
const REDRAW_MS = 500;

interface Entry {
  id: string;
  /** What docker's .Container shows: the name the user typed, or the short ID. */
  label: string;
  latest?: ApiStats;
  failed?: boolean;
  res?: IncomingMessage;
}

/** Read one stats stream (one JSON object per line), keeping the newest sample. */
async function follow(client: Client, e: Entry): Promise<void> {
  try {
    const res = await client.request('GET', `/containers/${e.id}/stats`, { query: { stream: 1 } });
    e.res = res;
    let buf = '';
    for await (const chunk of res) {
      buf += (chunk as Buffer).toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) e.latest = JSON.parse(line) as ApiStats;
      }
    }
  } catch {
    e.failed = true;
  }
}

/** The table (or other format) for the current samples; entries with no sample yet are skipped, as docker does. */
function render(entries: Entry[], format: string, noTrunc: boolean): string {
  const rows: StatsRow[] = [];
  for (const e of entries) {
    if (!e.latest && !e.failed) continue;
    rows.push(statsRow(e.latest ?? { id: e.id }, { container: e.label, noTrunc, invalid: !e.latest }));
  }
  return formatRows(format, rows, STATS_HEADERS, { contextType: '*formatter.statsContext' });
}

/** Rewrite the screen in place: home, each line cleared to its end, everything below cleared. */
export function redrawFrame(text: string): string {
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  return '\x1b[H' + lines.map((l) => `${l}\x1b[K\n`).join('') + '\x1b[J';
}

export const statsCmd: Command = {
  usage: 'stats [OPTIONS] [CONTAINER...]',
  summary: 'Display a live stream of container(s) resource usage statistics',
  flags: [
    { name: 'all', short: 'a', type: 'bool', help: 'Show all containers (default shows just running)' },
    { name: 'format', type: 'string', help: 'Format output using a custom template' },
    { name: 'no-stream', type: 'bool', help: 'Disable streaming stats and only pull the first result' },
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
  ],
  async run(cli, args, f) {
    const client = await cli.client();
    const noStream = !!f['no-stream'];
    const noTrunc = !!f['no-trunc'];
    const format = listFormat(f.format as string | undefined, STATS_DEFAULT_FORMAT);
    const all = !!f.all;
    const entries: Entry[] = [];

    if (args.length) {
      // Named containers must all exist before anything is shown.
      const errors: string[] = [];
      for (const n of args) {
        try {
          const c = await client.json<{ Id: string }>('GET', `/containers/${encodeURIComponent(n)}/json`);
          entries.push({ id: c.Id, label: n });
        } catch (e) {
          if (e instanceof ApiError) errors.push(`Error response from daemon: ${e.message}`);
          else throw e;
        }
      }
      if (errors.length) throw new CliExit(1, errors.join('\n'));
    } else {
      const list = await client.json<Array<{ Id: string }>>('GET', '/containers/json', { query: { all: all ? 1 : undefined } });
      for (const c of list) entries.push({ id: c.Id, label: c.Id.slice(0, 12) });
    }

    if (noStream) {
      await Promise.all(
        entries.map(async (e) => {
          try {
            e.latest = await client.json<ApiStats>('GET', `/containers/${e.id}/stats`, { query: { stream: 0 } });
          } catch {
            e.failed = true;
          }
        }),
      );
      cli.out(render(entries, format, noTrunc));
      return 0;
    }

    for (const e of entries) void follow(client, e);
    if (!args.length) void watchEvents(client, entries, all);
    const table = isTableFormat(format);
    for (;;) {
      await new Promise((r) => setTimeout(r, REDRAW_MS));
      const text = render(entries, format, noTrunc);
      cli.out(table ? redrawFrame(text) : text);
    }
  },
};

/** Keep the set of shown containers in step with the daemon's container events. */
async function watchEvents(client: Client, entries: Entry[], all: boolean): Promise<void> {
  const drop = (id: string) => {
    const i = entries.findIndex((e) => e.id === id);
    if (i >= 0) {
      entries[i]!.res?.destroy();
      entries.splice(i, 1);
    }
  };
  try {
    const res = await client.request('GET', '/events', { query: { filters: JSON.stringify({ type: ['container'] }) } });
    await client.stream(res, (ev) => {
      const id = (ev.Actor as { ID?: string } | undefined)?.ID ?? (ev.id as string | undefined);
      if (!id) return;
      const action = ev.Action as string;
      if ((action === 'start' || (all && action === 'create')) && !entries.some((e) => e.id === id)) {
        const e: Entry = { id, label: id.slice(0, 12) };
        entries.push(e);
        void follow(client, e);
      } else if (action === 'destroy' || (!all && action === 'die')) {
        drop(id);
      }
    });
  } catch {
    /* the table stays as it is */
  }
}
