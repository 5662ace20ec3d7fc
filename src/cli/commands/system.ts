/** System commands: version, info, events, system df, system check. */
import { API_VERSION, BERTH_VERSION, MIN_API_VERSION } from '../../core/version.js';
import { encodeFilters } from '../../core/filters.js';
import { parseTimestampOrDuration, timestampString } from '../../core/go-time.js';
import { ConnectError } from '../../client/client.js';
import { CliExit, type Command } from '../cli.js';
import { formatRows, renderOne } from '../format/formatter.js';
import { TemplateError } from '../format/template/index.js';
import { bytesSize, createdSince, humanSize, humanSize4 } from '../format/units.js';

const goArch = () => (process.arch === 'x64' ? 'amd64' : process.arch);

/**
 * A Go struct for `--format`: templates reach its fields by their Go names
 * (`.Server.APIVersion`), `{{json .}}` prints their JSON names (`ApiVersion`),
 * and a field it lacks is docker's "can't evaluate field" error.
 */
const GO_TYPES = new WeakMap<object, string>();
function goStruct(type: string, fields: Record<string, unknown>, jsonNames: Record<string, string> = {}, omitEmpty: string[] = []): Record<string, unknown> {
  const proto = {
    toJSON() {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(fields)) {
        if (omitEmpty.includes(k) && (v === undefined || v === '' || v === false || (v && typeof v === 'object' && Object.values(v).every((x) => x === ''))))
          continue;
        out[jsonNames[k] ?? k] = v;
      }
      return out;
    },
  };
  const o = Object.assign(Object.create(proto) as Record<string, unknown>, fields);
  GO_TYPES.set(o, type);
  return o;
}

export const version: Command = {
  usage: 'version [OPTIONS]',
  summary: 'Show the Berth version information',
  args: { max: 0 },
  flags: [{ name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template' }],
  async run(cli, _args, f) {
    const clientInfo = goStruct(
      'system.clientVersion',
      {
        Platform: { Name: 'Berth' },
        Version: BERTH_VERSION,
        APIVersion: API_VERSION,
        DefaultAPIVersion: API_VERSION,
        GitCommit: 'berth',
        GoVersion: `node${process.versions.node}`,
        Os: 'linux',
        Arch: goArch(),
        BuildTime: '',
        Context: cli.contextName,
      },
      { APIVersion: 'ApiVersion' },
      ['Platform'],
    );
    let server: Record<string, unknown> | undefined;
    let connectError: Error | undefined;
    try {
      server = await (await cli.client()).json<Record<string, unknown>>('GET', '/version');
    } catch (err) {
      if (!(err instanceof ConnectError)) throw err;
      connectError = err;
    }
    if (f.format) {
      const s =
        server &&
        goStruct(
          '*types.Version',
          {
            Platform: server.Platform ?? { Name: '' },
            Components: server.Components ?? null,
            Version: server.Version,
            APIVersion: server.ApiVersion,
            MinAPIVersion: server.MinAPIVersion,
            GitCommit: server.GitCommit,
            GoVersion: server.GoVersion,
            Os: server.Os,
            Arch: server.Arch,
            KernelVersion: server.KernelVersion,
            Experimental: server.Experimental ?? false,
            BuildTime: server.BuildTime,
          },
          { APIVersion: 'ApiVersion' },
          ['Experimental', 'KernelVersion', 'BuildTime'],
        );
      const data = goStruct('system.versionInfo', { Client: clientInfo, Server: s ?? null });
      try {
        cli.out(renderOne(f.format as string, data, { name: 'version', structType: (o) => GO_TYPES.get(o) }) + '\n');
      } catch (err) {
        if (err instanceof TemplateError) {
          cli.out('\n');
          throw new CliExit(1, err.goMessage);
        }
        throw err;
      }
    } else {
      cli.out(
        `Client:\n Version:           ${BERTH_VERSION}\n API version:       ${API_VERSION}\n Go version:        ${clientInfo.GoVersion}\n Git commit:        berth\n Built:             \n OS/Arch:           linux/${goArch()}\n Context:           ${cli.contextName}\n`,
      );
      if (server) {
        cli.out(
          `\nServer: ${(server.Platform as { Name: string }).Name}\n Engine:\n  Version:          ${server.Version}\n  API version:      ${server.ApiVersion} (minimum version ${server.MinAPIVersion ?? MIN_API_VERSION})\n  Go version:       ${server.GoVersion}\n  Git commit:       ${server.GitCommit}\n  Built:            ${server.BuildTime}\n  OS/Arch:          ${server.Os}/${server.Arch}\n  Experimental:     false\n`,
        );
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
    const i = await (await cli.client()).json<InfoReply>('GET', '/info');
    if (f.format) {
      cli.out(renderOne(f.format as string, i) + '\n');
      return;
    }
    cli.out(infoText(i, cli.contextName));
    if (Array.isArray(i.Warnings)) for (const w of i.Warnings as string[]) cli.err(w + '\n');
  },
};

/** `name=seccomp,profile=default` → docker's "  seccomp\n   Profile: default". */
function securityOptionLines(opts: string[]): string[] {
  const out: string[] = [];
  for (const o of opts) {
    const kv = o.split(',').map((x) => {
      const i = x.indexOf('=');
      return i < 0 ? [x, ''] : [x.slice(0, i), x.slice(i + 1)];
    });
    const name = kv.find(([k]) => k === 'name')?.[1] ?? o;
    out.push(`  ${name}`);
    for (const [k, v] of kv) if (k !== 'name') out.push(`   ${k!.charAt(0).toUpperCase()}${k!.slice(1)}: ${v}`);
  }
  return out;
}

/** GET /info's answer, read field by field as docker's info reads whatever the daemon sent. */
// biome-ignore lint/suspicious/noExplicitAny: dozens of optional, nested fields printed as they come; a missing one prints as docker's does.
type InfoReply = Record<string, any>;

/** `info` without --format, laid out line for line as docker's info prints a daemon's answer. */
export function infoText(i: InfoReply, context: string): string {
  const reg = i.RegistryConfig ?? {};
  const insecure: string[] = [
    ...Object.values((reg.IndexConfigs ?? {}) as Record<string, { Name: string; Secure: boolean }>)
      .filter((x) => !x.Secure)
      .map((x) => x.Name),
    ...((reg.InsecureRegistryCIDRs ?? []) as string[]),
  ];
  const mirrors: string[] = reg.Mirrors ?? [];
  const runtimes = Object.keys(i.Runtimes ?? {}).sort();
  const lines = [
    'Client:',
    ` Version:    ${BERTH_VERSION}`,
    ` Context:    ${context}`,
    ' Debug Mode: false',
    '',
    'Server:',
    ` Containers: ${i.Containers}`,
    `  Running: ${i.ContainersRunning}`,
    `  Paused: ${i.ContainersPaused}`,
    `  Stopped: ${i.ContainersStopped}`,
    ` Images: ${i.Images}`,
    ` Server Version: ${i.ServerVersion}`,
    ` Storage Driver: ${i.Driver}`,
    ...((i.DriverStatus ?? []) as string[][]).map(([k, v]) => `  ${k}: ${v}`),
    ` Logging Driver: ${i.LoggingDriver}`,
    ` Cgroup Driver: ${i.CgroupDriver}`,
    ` Cgroup Version: ${i.CgroupVersion}`,
    ' Plugins:',
    `  Volume: ${(i.Plugins?.Volume ?? []).join(' ')}`,
    `  Network: ${(i.Plugins?.Network ?? []).join(' ')}`,
    `  Log: ${(i.Plugins?.Log ?? []).join(' ')}`,
    ...(i.Plugins?.Authorization?.length ? [`  Authorization: ${i.Plugins.Authorization.join(' ')}`] : []),
    ` Swarm: ${i.Swarm?.LocalNodeState ?? 'inactive'}`,
    ...(runtimes.length ? [` Runtimes: ${runtimes.join(' ')}`] : []),
    ` Default Runtime: ${i.DefaultRuntime}`,
    ` Init Binary: ${i.InitBinary}`,
    ` containerd version: ${i.ContainerdCommit?.ID ?? ''}`,
    ` runc version: ${i.RuncCommit?.ID ?? ''}`,
    ` init version: ${i.InitCommit?.ID ?? ''}`,
    ...(i.SecurityOptions?.length ? [' Security Options:', ...securityOptionLines(i.SecurityOptions)] : []),
    ` Kernel Version: ${i.KernelVersion}`,
    ` Operating System: ${i.OperatingSystem}`,
    ` OSType: ${i.OSType}`,
    ` Architecture: ${i.Architecture}`,
    ` CPUs: ${i.NCPU}`,
    ` Total Memory: ${bytesSize(i.MemTotal)}`,
    ` Name: ${i.Name}`,
    ` ID: ${i.ID}`,
    ` Docker Root Dir: ${i.DockerRootDir}`,
    ` Debug Mode: ${i.Debug}`,
    ...(i.HttpProxy ? [` HTTP Proxy: ${i.HttpProxy}`] : []),
    ...(i.HttpsProxy ? [` HTTPS Proxy: ${i.HttpsProxy}`] : []),
    ...(i.NoProxy ? [` No Proxy: ${i.NoProxy}`] : []),
    ...(i.Labels?.length ? [' Labels:', ...(i.Labels as string[]).map((l) => `  ${l}`)] : []),
    ` Experimental: ${i.ExperimentalBuild === true}`,
    ...(insecure.length ? [' Insecure Registries:', ...insecure.map((x) => `  ${x}`)] : []),
    ...(mirrors.length ? [' Registry Mirrors:', ...mirrors.map((x) => `  ${x}`)] : []),
    ` Live Restore Enabled: ${i.LiveRestoreEnabled}`,
    ...(i.DefaultAddressPools?.length
      ? [' Default Address Pools:', ...(i.DefaultAddressPools as Array<{ Base: string; Size: number }>).map((p) => `   Base: ${p.Base}, Size: ${p.Size}`)]
      : []),
    '',
  ];
  return lines.join('\n') + '\n';
}

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

interface DiskUsage {
  Images: Array<{ Id: string; RepoTags: string[] | null; Size: number; SharedSize: number; Containers: number; Created: number }>;
  Containers: Array<{
    Id: string;
    Names: string[];
    Image: string;
    Command: string;
    Created: number;
    Status: string;
    SizeRw?: number;
    Mounts?: Array<{ Type: string }>;
  }>;
  Volumes: Array<{ Name: string; UsageData?: { Size: number; RefCount: number } }>;
  BuildCache: Array<{ Size: number }> | null;
}

/** `system df -v`: images, containers, volumes and build cache, each as docker's verbose tables print them. */
function dfVerbose(d: DiskUsage): string {
  const images = [];
  for (const i of d.Images) {
    const base = {
      ID: i.Id.replace(/^sha256:/, '').slice(0, 12),
      CreatedSince: createdSince(i.Created),
      Size: humanSize(i.Size),
      SharedSize: i.SharedSize < 0 ? 'N/A' : humanSize4(i.SharedSize),
      UniqueSize: i.SharedSize < 0 ? 'N/A' : humanSize4(i.Size - i.SharedSize),
      Containers: String(i.Containers),
    };
    const tags = (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
    if (!tags.length) images.push({ ...base, Repository: '<none>', Tag: '<none>' });
    for (const t of tags) {
      const c = t.lastIndexOf(':');
      images.push({ ...base, Repository: t.slice(0, c), Tag: t.slice(c + 1) });
    }
  }
  const containers = d.Containers.map((c) => {
    let cmd = c.Command;
    if ([...cmd].length > 20) cmd = [...cmd].slice(0, 19).join('') + '…';
    return {
      ID: c.Id.slice(0, 12),
      Image: c.Image,
      Command: `"${cmd}"`,
      LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Type === 'volume').length),
      Size: humanSize(c.SizeRw ?? 0),
      RunningFor: createdSince(c.Created),
      Status: c.Status,
      Names: c.Names.map((n) => n.replace(/^\//, '')).join(','),
    };
  });
  const volumes = d.Volumes.map((v) => ({ Name: v.Name, Links: String(v.UsageData?.RefCount ?? 0), Size: humanSize4(v.UsageData?.Size ?? 0) }));
  const cache = (d.BuildCache ?? []).reduce((n, b) => n + b.Size, 0);
  return (
    'Images space usage:\n\n' +
    formatRows('table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}', images, {
      Repository: 'REPOSITORY',
      Tag: 'TAG',
      ID: 'IMAGE ID',
      CreatedSince: 'CREATED',
      Size: 'SIZE',
      SharedSize: 'SHARED SIZE',
      UniqueSize: 'UNIQUE SIZE',
      Containers: 'CONTAINERS',
    }) +
    '\nContainers space usage:\n\n' +
    formatRows('table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}', containers, {
      ID: 'CONTAINER ID',
      Image: 'IMAGE',
      Command: 'COMMAND',
      LocalVolumes: 'LOCAL VOLUMES',
      Size: 'SIZE',
      RunningFor: 'CREATED',
      Status: 'STATUS',
      Names: 'NAMES',
    }) +
    '\nLocal Volumes space usage:\n\n' +
    formatRows('table {{.Name}}\t{{.Links}}\t{{.Size}}', volumes, { Name: 'VOLUME NAME', Links: 'LINKS', Size: 'SIZE' }) +
    `\nBuild cache usage: ${humanSize4(cache)}\n\n` +
    formatRows('table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}', [], {
      ID: 'CACHE ID',
      CacheType: 'CACHE TYPE',
      Size: 'SIZE',
      CreatedSince: 'CREATED',
      LastUsedSince: 'LAST USED',
      UsageCount: 'USAGE',
      Shared: 'SHARED',
    })
  );
}

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
    const d = await (await cli.client()).json<{
      LayersSize: number;
      Images: Img[];
      Containers: Array<{ State: string; SizeRw?: number }>;
      Volumes: Array<{ Name: string; UsageData?: { Size: number; RefCount: number } }>;
      BuildCache: unknown[];
    }>('GET', '/system/df');
    const vols = d.Volumes ?? [];
    const volSize = vols.reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
    const volReclaim = vols.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
    if (f.verbose) {
      cli.out(dfVerbose(d as unknown as DiskUsage));
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
      {
        Type: 'Images',
        TotalCount: String(d.Images.length),
        Active: String(active.length),
        Size: humanSize4(d.LayersSize),
        Reclaimable: `${humanSize4(reclaim)}${pct}`,
      },
      {
        Type: 'Containers',
        TotalCount: String(d.Containers.length),
        Active: String(ctrActive),
        Size: humanSize4(ctrSize),
        Reclaimable: `${humanSize4(ctrReclaim)}${ctrSize > 0 ? ` (${Math.trunc((ctrReclaim * 100) / ctrSize)}%)` : ''}`,
      },
      {
        Type: 'Local Volumes',
        TotalCount: String(vols.length),
        Active: String(vols.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length),
        Size: humanSize4(volSize),
        Reclaimable: `${humanSize4(volReclaim)}${volSize > 0 ? ` (${Math.trunc((volReclaim * 100) / volSize)}%)` : ''}`,
      },
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
    let format = (f.format as string | undefined) || (f.quiet ? '{{.ID}}' : def);
    if (format === 'table') format = def;
    cli.out(formatRows(format, rows, { ID: 'ID', Name: 'NAME', Description: 'DESCRIPTION', Enabled: 'ENABLED' }));
  },
};
