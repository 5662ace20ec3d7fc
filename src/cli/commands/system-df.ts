/** `system df` (and -v): the daemon's disk usage summed into docker's table, or its four verbose tables. */
import type { Command } from '../cli.js';
import { formatRows, listFormat } from '../format/formatter.js';
import { createdSince, humanSize, humanSize4 } from '../format/units.js';
import { ellipsis } from '../format/columns.js';

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
    const cmd = ellipsis(c.Command, 20);
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
    const format = listFormat(f.format as string | undefined, def);
    cli.out(formatRows(format, rows, { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' }));
  },
};
