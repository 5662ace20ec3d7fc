/** Containers as the Engine API shows them: the list entry and the inspect document. */
import { join } from 'node:path';
import { type Filters, checkFilterKeys, matchLabels } from '../../core/filters.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { ZERO_TIME } from '../../core/go-values.js';
import { humanDuration } from '../../core/duration.js';
import { emptyEndpointSettings } from '../../core/wire/endpoint-settings.js';
import type { Container } from './record.js';
import { appArmorProfileOf } from './oci/security-opts.js';
import type { ContainerService } from './service.js';

const LIST_FILTERS = [
  'status',
  'name',
  'id',
  'label',
  'label!',
  'ancestor',
  'exited',
  'before',
  'since',
  'health',
  'network',
  'volume',
  'is-task',
  'publish',
  'expose',
  'isolation',
];
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

function networks(c: Container): Record<string, unknown> {
  const mode = c.rec.HostConfig.NetworkMode ?? 'default';
  if (mode.startsWith('container:')) return {};
  const name = mode === 'default' ? 'none' : mode;
  return { [name]: emptyEndpointSettings() };
}

function matchesAncestor(svc: ContainerService, c: Container, want: string): boolean {
  if (c.rec.Config.Image === want || c.rec.Image === want || c.rec.Image === `sha256:${want}` || c.rec.Image.slice(7).startsWith(want)) return true;
  const img = svc.images.tryResolve(want);
  return !!img && img.id === c.rec.Image;
}

export async function listContainers(
  svc: ContainerService,
  opts: { all?: boolean; limit?: number; size?: boolean; filters: Filters },
): Promise<Record<string, unknown>[]> {
  const f = opts.filters;
  checkFilterKeys(f, LIST_FILTERS);
  for (const s of f.status ?? []) if (!STATUSES.includes(s)) throw new InvalidArgumentError(`Invalid filter 'status=${s}'`);
  let all = [...svc.list()].sort((a, b) => Date.parse(b.rec.Created) - Date.parse(a.rec.Created) || b.rec.Id.localeCompare(a.rec.Id));
  const createdOf = (ref: string) => {
    const c = svc.tryGet(ref);
    if (!c) throw new InvalidArgumentError(`No such container: ${ref}`);
    return Date.parse(c.rec.Created);
  };
  const before = f.before?.[0] ? createdOf(f.before[0]) : undefined;
  const since = f.since?.[0] ? createdOf(f.since[0]) : undefined;
  const showAll = opts.all || (opts.limit ?? -1) > 0 || !!f.status?.length || !!f.exited?.length || before !== undefined || since !== undefined;
  all = all.filter((c) => {
    const status = c.state.Status;
    if (!showAll && !c.state.Running && !c.state.Paused && !c.state.Restarting) return false;
    if (f.status?.length && !f.status.includes(status)) return false;
    if (f.name?.length && !f.name.some((n) => new RegExp(n.replace(/^\//, '')).test(c.rec.Name.slice(1)))) return false;
    if (f.id?.length && !f.id.some((i) => c.rec.Id.startsWith(i))) return false;
    if (!matchLabels(c.rec.Config.Labels, f.label)) return false;
    if (f['label!']?.length && f['label!'].some((l) => matchLabels(c.rec.Config.Labels, [l]))) return false;
    if (f.ancestor?.length && !f.ancestor.some((a) => matchesAncestor(svc, c, a))) return false;
    if (f.exited?.length && (c.state.Running || c.state.StartedAt.startsWith('0001') || !f.exited.includes(String(c.state.ExitCode)))) return false;
    if (f.health?.length && !f.health.includes(c.state.Health?.Status ?? 'none')) return false;
    // dockerd: a volume's name, or the destination of any mount point (volume, bind or tmpfs).
    if (f.volume?.length && !f.volume.some((v) => (c.rec.MountPoints ?? []).some((m) => m.Destination === v || m.Name === v))) return false;
    if (before !== undefined && Date.parse(c.rec.Created) >= before) return false;
    if (since !== undefined && Date.parse(c.rec.Created) <= since) return false;
    return true;
  });
  if ((opts.limit ?? -1) > 0) all = all.slice(0, opts.limit);
  const out: Record<string, unknown>[] = [];
  for (const c of all) {
    const e: Record<string, unknown> = {
      Id: c.rec.Id,
      Names: [c.rec.Name],
      Image: c.rec.Config.Image,
      ImageID: c.rec.Image,
      Command: [c.rec.Path, ...c.rec.Args].join(' '),
      Created: Math.floor(Date.parse(c.rec.Created) / 1000),
      Ports: svc.networking?.ports(c) ?? [],
      Labels: c.rec.Config.Labels ?? {},
      State: c.state.Status,
      Status: statusText(c),
      HostConfig: { NetworkMode: c.rec.HostConfig.NetworkMode ?? 'default' },
      NetworkSettings: { Networks: svc.networking?.endpoints(c) ?? networks(c) },
      Mounts: svc.volumes?.view(c) ?? [],
    };
    if (opts.size) {
      const rw = await svc.sizeRw(c);
      e.SizeRw = rw;
      e.SizeRootFs = rw + (await svc.images.size(svc.images.tryResolve(c.rec.Image) ?? { id: c.rec.Image, layers: [], repoDigests: [], addedAt: '' }));
    }
    out.push(e);
  }
  return out;
}

export async function inspectContainer(svc: ContainerService, c: Container, opts: { size?: boolean; dataRoot: string }): Promise<Record<string, unknown>> {
  const dir = join(opts.dataRoot, 'containers', c.rec.Id);
  const snapRoot = join(opts.dataRoot, 'snapshots', svc.snapshotter.driver);
  const graph =
    svc.snapshotter.driver === 'overlay2'
      ? {
          Data: {
            LowerDir: (c.rec.RootfsChain ?? [])
              .slice()
              .reverse()
              .map((l) => svc.snapshotter.layerDiffPath(l))
              .join(':'),
            MergedDir: join(snapRoot, 'active', c.rec.Id, 'merged'),
            UpperDir: svc.snapshotter.upperPath(c.rec.Id),
            WorkDir: join(snapRoot, 'active', c.rec.Id, 'work'),
          },
          Name: 'overlay2',
        }
      : { Data: { Dir: svc.snapshotter.upperPath(c.rec.Id) }, Name: 'vfs' };
  const started = c.state.StartedAt !== ZERO_TIME || c.state.Running;
  const out: Record<string, unknown> = {
    Id: c.rec.Id,
    Created: c.rec.Created,
    Path: c.rec.Path,
    Args: c.rec.Args,
    // dockerd counts a container waiting out its restart delay as running (State.SetRestarting).
    State: c.state.Restarting ? { ...c.state, Running: true } : c.state,
    Image: c.rec.Image,
    // dockerd makes these files at the first start, and names them only from then on.
    ResolvConfPath: started ? join(dir, 'resolv.conf') : '',
    HostnamePath: started ? join(dir, 'hostname') : '',
    HostsPath: started ? join(dir, 'hosts') : '',
    LogPath: started && c.rec.HostConfig.LogConfig?.Type !== 'none' ? svc.logPath(c) : '',
    Name: c.rec.Name,
    RestartCount: c.rec.RestartCount,
    Driver: svc.snapshotter.driver,
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    // No AppArmor on this host: dockerd shows the asked profile until the first start clears it.
    AppArmorProfile: started ? '' : appArmorProfileOf(c.rec.HostConfig),
    ExecIDs: null,
    HostConfig: { LogConfig: { Type: 'json-file', Config: {} }, ...c.rec.HostConfig },
    GraphDriver: graph,
    Mounts: svc.volumes?.view(c) ?? [],
    Config: c.rec.Config,
    NetworkSettings: svc.networking?.settings(c) ?? {
      Bridge: '',
      SandboxID: '',
      SandboxKey: c.state.Pid ? `/proc/${c.state.Pid}/ns/net` : '',
      Ports: {},
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: '',
      Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      IPAddress: '',
      IPPrefixLen: 0,
      IPv6Gateway: '',
      MacAddress: '',
      Networks: networks(c),
    },
  };
  if (opts.size) {
    const rw = await svc.sizeRw(c);
    out.SizeRw = rw;
    out.SizeRootFs = rw + (await svc.images.size(svc.images.tryResolve(c.rec.Image) ?? { id: c.rec.Image, layers: [], repoDigests: [], addedAt: '' }));
  }
  return out;
}

/** Docker's State.String(): "Up 5 minutes", "Exited (0) 3 seconds ago", "Created". */
export function statusText(c: Container, now = Date.now()): string {
  const s = c.state;
  if (c.removing) return 'Removal In Progress';
  if (s.Running) {
    const up = humanDuration(now - Date.parse(s.StartedAt));
    if (s.Paused) return `Up ${up} (Paused)`;
    const health = s.Health?.Status;
    return health ? `Up ${up} (${health === 'starting' ? 'health: starting' : health})` : `Up ${up}`;
  }
  if (s.Restarting) return `Restarting (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
  if (s.Dead) return 'Dead';
  if (s.StartedAt === ZERO_TIME) return 'Created';
  if (s.FinishedAt === ZERO_TIME) return '';
  return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
}
