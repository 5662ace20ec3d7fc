/** System commands: version, info, events, system df, system check. */
import { API_VERSION, BERTH_VERSION, MIN_API_VERSION } from '../../core/version.js';
import { encodeFilters } from '../../core/filters.js';
import { ConnectError } from '../../client/client.js';
import { CliExit, type Command } from '../cli.js';
import { formatRows, renderOne } from '../format/formatter.js';
import { humanSize4 } from '../format/units.js';

const goArch = () => (process.arch === 'x64' ? 'amd64' : process.arch);

export const version: Command = {
  usage: 'version [OPTIONS]',
  summary: 'Show the Berth version information',
  args: { max: 0 },
  flags: [{ name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template' }],
  async run(cli, _args, f) {
    const clientInfo = {
      Platform: { Name: 'Berth' }, Version: BERTH_VERSION, ApiVersion: API_VERSION, DefaultAPIVersion: API_VERSION,
      GitCommit: 'berth', GoVersion: `node${process.versions.node}`, Os: 'linux', Arch: goArch(), BuildTime: '', Context: 'default',
    };
    let server: Record<string, unknown> | undefined;
    let connectError: Error | undefined;
    try {
      server = await (await cli.client()).json<Record<string, unknown>>('GET', '/version');
    } catch (err) {
      if (!(err instanceof ConnectError)) throw err;
      connectError = err;
    }
    if (f.format) {
      cli.out(renderOne(f.format as string, { Client: clientInfo, Server: server ?? null }) + '\n');
    } else {
      cli.out(`Client:\n Version:           ${BERTH_VERSION}\n API version:       ${API_VERSION}\n Go version:        ${clientInfo.GoVersion}\n Git commit:        berth\n Built:             \n OS/Arch:           linux/${goArch()}\n Context:           default\n`);
      if (server) {
        cli.out(`\nServer: ${(server.Platform as { Name: string }).Name}\n Engine:\n  Version:          ${server.Version}\n  API version:      ${server.ApiVersion} (minimum version ${server.MinAPIVersion ?? MIN_API_VERSION})\n  Go version:       ${server.GoVersion}\n  Git commit:       ${server.GitCommit}\n  Built:            ${server.BuildTime}\n  OS/Arch:          ${server.Os}/${server.Arch}\n  Experimental:     false\n`);
      }
    }
    if (connectError) throw new CliExit(1, connectError.message);
  },
};

export const info: Command = {
  usage: 'info [OPTIONS]',
  summary: 'Display system-wide information',
  args: { max: 0 },
  flags: [{ name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template' }],
  async run(cli, _args, f) {
    const i = await (await cli.client()).json<Record<string, any>>('GET', '/info');
    if (f.format) { cli.out(renderOne(f.format as string, i) + '\n'); return; }
    const lines = [
      'Client:', ` Version:    ${BERTH_VERSION}`, ' Context:    default', ' Debug Mode: false', '',
      'Server:',
      ` Containers: ${i.Containers}`, `  Running: ${i.ContainersRunning}`, `  Paused: ${i.ContainersPaused}`, `  Stopped: ${i.ContainersStopped}`,
      ` Images: ${i.Images}`, ` Server Version: ${i.ServerVersion}`, ` Storage Driver: ${i.Driver}`,
      ...((i.DriverStatus ?? []) as string[][]).map(([k, v]) => `  ${k}: ${v}`),
      ' Plugins:', `  Volume: ${(i.Plugins?.Volume ?? []).join(' ')}`, `  Network: ${(i.Plugins?.Network ?? []).join(' ')}`, `  Log: ${(i.Plugins?.Log ?? []).join(' ')}`,
      ` Logging Driver: ${i.LoggingDriver}`, ` Cgroup Driver: ${i.CgroupDriver}`, ` Cgroup Version: ${i.CgroupVersion}`,
      ` Default Runtime: ${i.DefaultRuntime}`, ` Kernel Version: ${i.KernelVersion}`, ` Operating System: ${i.OperatingSystem}`,
      ` OSType: ${i.OSType}`, ` Architecture: ${i.Architecture}`, ` CPUs: ${i.NCPU}`, ` Total Memory: ${(i.MemTotal / 2 ** 30).toFixed(2)}GiB`,
      ` Name: ${i.Name}`, ` ID: ${i.ID}`, ` Berth Root Dir: ${i.DockerRootDir}`, ` Debug Mode: ${i.Debug}`,
      ` Experimental: false`, ` Live Restore Enabled: ${i.LiveRestoreEnabled}`,
      ...(i.DefaultAddressPools?.length ? [' Default Address Pools:', ...(i.DefaultAddressPools as Array<{ Base: string; Size: number }>).map((p) => `   Base: ${p.Base}, Size: ${p.Size}`)] : []), '',
    ];
    cli.out(lines.join('\n') + '\n');
  },
};

/** `--since`/`--until` as docker accepts them: unix time, RFC 3339, or a duration ago ("10m"). */
export function toTimestamp(v: string, now = Date.now()): string {
  if (/^\d+(\.\d+)?$/.test(v)) return v;
  const dur = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/.exec(v);
  if (dur) {
    const secs: Record<string, number> = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
    return ((now / 1000) - Number(dur[1]) * secs[dur[2]]).toFixed(9);
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new CliExit(1, `invalid value "${v}": expected a unix timestamp, an RFC 3339 date or a duration like 10m`);
  return (t / 1000).toFixed(9);
}

function rfc3339Nano(timeNano: number): string {
  const ms = Math.floor(timeNano / 1e6);
  const iso = new Date(ms).toISOString().slice(0, 19);
  const frac = String(timeNano % 1e9).padStart(9, '0').replace(/0+$/, '');
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
      if (format) { cli.out((format === 'json' ? JSON.stringify(ev) : renderOne(format, ev)) + '\n'); return; }
      const actor = ev.Actor as { ID: string; Attributes: Record<string, string> };
      const attrs = Object.keys(actor.Attributes ?? {}).sort().map((k) => `${k}=${actor.Attributes[k]}`).join(', ');
      cli.out(`${rfc3339Nano(ev.timeNano as number)} ${ev.Type} ${ev.Action} ${actor.ID}${attrs ? ` (${attrs})` : ''}\n`);
    });
  },
};

export const df: Command = {
  usage: 'system df [OPTIONS]',
  summary: 'Show disk usage',
  args: { max: 0 },
  flags: [
    { name: 'format', type: 'string', help: 'Format output using a custom template' },
    { name: 'verbose', short: 'v', type: 'bool', help: 'Show detailed information on space usage' },
  ],
  async run(cli, _args, f) {
    type Img = { Id: string; RepoTags: string[]; Size: number; SharedSize: number; Containers: number; Created: number };
    const d = await (await cli.client()).json<{ LayersSize: number; Images: Img[]; Containers: Array<{ State: string; SizeRw?: number }>; Volumes: Array<{ Name: string; UsageData?: { Size: number; RefCount: number } }>; BuildCache: unknown[] }>('GET', '/system/df');
    const vols = d.Volumes ?? [];
    const volSize = vols.reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
    const volReclaim = vols.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
    if (f.verbose) {
      cli.out('Local Volumes space usage:\n\n');
      cli.out(formatRows('table {{.Name}}\t{{.Links}}\t{{.Size}}', vols.map((v) => ({ Name: v.Name, Links: String(v.UsageData?.RefCount ?? 0), Size: humanSize4(v.UsageData?.Size ?? 0) })), { Name: 'VOLUME NAME', Links: 'LINKS', Size: 'SIZE' }));
      return;
    }
    const active = d.Images.filter((i) => i.Containers > 0);
    const activeBytes = active.reduce((n, i) => n + i.Size - Math.max(0, i.SharedSize), 0);
    const reclaim = Math.max(0, d.LayersSize - activeBytes);
    const pct = d.LayersSize > 0 ? ` (${Math.trunc((reclaim * 100) / d.LayersSize)}%)` : '';
    const ctrActive = d.Containers.filter((c) => c.State === 'running').length;
    const ctrSize = d.Containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
    const ctrReclaim = d.Containers.filter((c) => c.State !== 'running').reduce((n, c) => n + (c.SizeRw ?? 0), 0);
    const rows = [
      { Type: 'Images', TotalCount: String(d.Images.length), Active: String(active.length), Size: humanSize4(d.LayersSize), Reclaimable: `${humanSize4(reclaim)}${pct}` },
      { Type: 'Containers', TotalCount: String(d.Containers.length), Active: String(ctrActive), Size: humanSize4(ctrSize), Reclaimable: `${humanSize4(ctrReclaim)}${ctrSize > 0 ? ` (${Math.trunc((ctrReclaim * 100) / ctrSize)}%)` : ''}` },
      { Type: 'Local Volumes', TotalCount: String(vols.length), Active: String(vols.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length), Size: humanSize4(volSize), Reclaimable: `${humanSize4(volReclaim)}${volSize > 0 ? ` (${Math.trunc((volReclaim * 100) / volSize)}%)` : ''}` },
      { Type: 'Build Cache', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' },
    ];
    const def = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
    let format = (f.format as string | undefined) || def;
    if (format === 'table') format = def;
    cli.out(formatRows(format, rows, { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' }));
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
    if (r.Problems.length === 0) { cli.out('No problems found.\n'); return 0; }
    return f.repair ? 0 : 1;
  },
};
