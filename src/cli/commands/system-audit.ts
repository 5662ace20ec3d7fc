/** `berth system audit`: who did what, from berthd's audit log (GET /berth/audit), filtered and formatted as docker's list commands are. */
import { encodeFilters } from '../../core/filters.js';
import type { Command } from '../cli.js';
import { formatRows, listFormat } from '../format/formatter.js';
import { toTimestamp } from './system.js';

interface Entry {
  Time: string;
  Transport: string;
  Uid?: number;
  Pid?: number;
  User?: string;
  CN?: string;
  Remote?: string;
  Method: string;
  Path: string;
  Action?: string;
  Object?: string;
  Status: number;
  DurationMs: number;
  Denied?: boolean;
}

const DEFAULT_TABLE = 'table {{.Time}}\t{{.Who}}\t{{.Pid}}\t{{.Method}}\t{{.Action}}\t{{.Object}}\t{{.Status}}\t{{.Duration}}';

/** The caller as one word: user(uid), the TLS CN, or the remote address. */
function who(e: Entry): string {
  if (e.CN !== undefined) return `cn=${e.CN}`;
  if (e.Uid !== undefined) return e.User ? `${e.User}(${e.Uid})` : String(e.Uid);
  return e.Remote ?? e.Transport;
}

export const audit: Command = {
  usage: 'system audit [OPTIONS]',
  summary: "Show the daemon's audit log: who made which state-changing API call",
  args: { max: 0 },
  flags: [
    { name: 'filter', short: 'f', type: 'strings', help: 'Filter output (user, uid, gid, pid, cn, action, method, object, status, transport, denied)' },
    { name: 'format', type: 'string', help: "Format output using a custom template ('table', 'json', or a Go template)" },
    { name: 'json', type: 'bool', help: 'Print the entries as JSON lines' },
    { name: 'since', type: 'string', help: 'Show entries since timestamp (e.g. "2024-01-02T13:23:37Z") or relative (e.g. "42m")' },
    { name: 'until', type: 'string', help: 'Show entries before timestamp or relative' },
    { name: 'tail', short: 'n', type: 'string', help: 'Number of entries to show from the end' },
  ],
  async run(cli, _args, f) {
    const filters = f.filter as string[];
    const tail = f.tail as string | undefined;
    const entries = await (await cli.client()).json<Entry[]>('GET', '/berth/audit', {
      query: {
        since: f.since ? toTimestamp(f.since as string) : undefined,
        until: f.until ? toTimestamp(f.until as string) : undefined,
        filters: filters.length ? encodeFilters(filters) : undefined,
        limit: tail !== undefined && tail !== 'all' ? tail : undefined,
      },
    });
    const format = f.json ? 'json' : listFormat(f.format as string | undefined, DEFAULT_TABLE);
    const rows = entries.map((e) => ({
      ...e,
      Who: who(e),
      Pid: e.Pid === undefined ? '' : String(e.Pid),
      Action: e.Action ?? '',
      Object: e.Object ?? '',
      Duration: `${e.DurationMs}ms`,
      Status: e.Denied ? `${e.Status} denied` : String(e.Status),
    }));
    cli.out(
      format === 'json'
        ? entries.map((e) => `${JSON.stringify(e)}\n`).join('')
        : formatRows(format, rows, {
            Time: 'TIME',
            Who: 'USER',
            Pid: 'PID',
            Method: 'METHOD',
            Action: 'ACTION',
            Object: 'OBJECT',
            Status: 'STATUS',
            Duration: 'DURATION',
          }),
    );
  },
};
