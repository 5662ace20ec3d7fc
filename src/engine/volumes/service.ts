/**
 * Volumes: the local driver's named and anonymous volumes, and the mounts of
 * containers (volumes, binds, tmpfs) as the container service asks for them.
 *
 * State on disk:
 *   <data-root>/volumes/<name>/volume.json   metadata, written whole or not at all
 *   <data-root>/volumes/<name>/_data          the files (or the mountpoint of a
 *                                             device given with -o type=,device=,o=)
 *
 * A directory without volume.json is a create that crashed before it was
 * recorded: dropped at start when its _data is empty.
 *
 * Over 400 lines because volume records and container mounts share the records, per-name locks and device mounts.
 */
import { dirSize } from '../../core/dir-size.js';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../core/atomic.js';
import { sortedKeys } from '../../core/go-json.js';
import { BerthError, ConflictError, InvalidArgumentError, NotFoundError, messageOf } from '../../core/errors.js';
import { type Filters, checkFilterKeys, matchLabels } from '../../core/filters.js';
import { log } from '../../core/log.js';
import { KeyedMutex } from '../../core/mutex.js';
import { run } from '../../core/proc.js';
import { compareApiVersions } from '../../core/version.js';
import { Tree } from '../../archive/tree.js';
import type { OciMount } from '../../runtime/spec/types.js';
import type { EventBus } from '../events.js';
import type { ContainerConfig } from '../../core/wire/container-config.js';
import type { ContainerMounts } from '../containers/mounts.js';
import type { Container, MountPoint } from '../containers/record.js';
import type { HostConfig } from '../../core/wire/host-config.js';
import { type ApiMount, type MountRequest, checkLocalOpts, checkVolumeName, parseBind, parseMount, parseVolumesFrom } from './specs.js';
import { parseGoBool } from '../../core/go-values.js';

export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

export interface VolumeRecord {
  Name: string;
  Driver: 'local';
  CreatedAt: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
}

export interface CreateVolumeRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** RFC 3339 with the offset spelled out, as Docker shows CreatedAt. */
function dockerTime(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z').replace(/Z$/, '+00:00');
}

export class VolumeService implements ContainerMounts {
  private vols = new Map<string, VolumeRecord>();
  private locks = new KeyedMutex();

  /** `containers` lists the containers, to know which volumes are in use. */
  constructor(
    readonly events: EventBus,
    readonly root: string,
    private readonly containers: () => Container[],
    /** With `--userns-remap`: the remapped root, who owns every new volume's files (as in dockerd). */
    private readonly owner?: { uid: number; gid: number },
  ) {}

  private dir(name: string): string {
    return join(this.root, name);
  }
  mountpoint(name: string): string {
    return join(this.root, name, '_data');
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o701 });
    for (const name of await readdir(this.root)) {
      try {
        const rec = JSON.parse(await readFile(join(this.dir(name), 'volume.json'), 'utf8')) as VolumeRecord;
        this.vols.set(rec.Name, rec);
      } catch {
        const data = await readdir(this.mountpoint(name)).catch(() => []);
        if (data.length === 0) {
          log.warn('dropping incomplete volume', { name });
          await rm(this.dir(name), { recursive: true, force: true });
        } else {
          // Files but no metadata: keep the data, as a plain local volume.
          const rec: VolumeRecord = { Name: name, Driver: 'local', CreatedAt: new Date().toISOString(), Labels: null, Options: null };
          await writeJsonAtomic(join(this.dir(name), 'volume.json'), rec);
          this.vols.set(name, rec);
        }
      }
    }
  }

  // ---- volumes -------------------------------------------------------------

  get(name: string): VolumeRecord {
    const v = this.vols.get(name);
    if (!v) throw new NotFoundError(`get ${name}: no such volume`);
    return v;
  }

  /** PUT /volumes/{name}: only cluster volumes can be updated, and Berth is never a swarm manager (dockerd's answer there). */
  update(_name: string): never {
    throw new BerthError('volume update only valid for cluster volumes, but swarm is unavailable', 503);
  }

  async create(req: CreateVolumeRequest): Promise<VolumeRecord> {
    const driver = req.Driver || 'local';
    if (driver !== 'local') throw new NotFoundError(`create ${req.Name ?? ''}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    const name = req.Name || randomBytes(32).toString('hex');
    checkVolumeName(name);
    // A volume without a name is anonymous (moby's volume service labels it so): prune at API 1.42+ takes only those.
    if (!req.Name) req = { ...req, Labels: { ...(req.Labels ?? {}), [ANONYMOUS_LABEL]: '' } };
    const opts = req.DriverOpts ?? {};
    try {
      checkLocalOpts(opts);
    } catch (e) {
      throw new InvalidArgumentError(`create ${name}: ${messageOf(e)}`);
    }
    return this.locks.run(name, async () => {
      const existing = this.vols.get(name);
      if (existing) return existing;
      const rec: VolumeRecord = {
        Name: name,
        Driver: 'local',
        CreatedAt: new Date().toISOString(),
        Labels: req.Labels && Object.keys(req.Labels).length ? req.Labels : req.Labels ? {} : null,
        Options: Object.keys(opts).length ? opts : req.DriverOpts ? {} : null,
      };
      await mkdir(this.mountpoint(name), { recursive: true, mode: 0o755 });
      if (this.owner) await chown(this.mountpoint(name), this.owner.uid, this.owner.gid);
      await writeJsonAtomic(join(this.dir(name), 'volume.json'), rec);
      this.vols.set(name, rec);
      this.events.publish('volume', 'create', name, { driver: 'local' });
      return rec;
    });
  }

  /** IDs of containers whose mounts name this volume. */
  usersOf(name: string): string[] {
    return this.containers()
      .filter((c) => (c.rec.MountPoints ?? []).some((m) => m.Type === 'volume' && m.Name === name))
      .map((c) => c.rec.Id);
  }

  async remove(name: string, force = false): Promise<void> {
    const v = this.vols.get(name);
    if (!v) {
      if (force) return;
      throw new NotFoundError(`get ${name}: no such volume`);
    }
    await this.locks.run(name, async () => {
      const users = this.usersOf(name);
      if (users.length) throw new ConflictError(`remove ${name}: volume is in use - [${users.join(', ')}]`);
      await this.unmountDevice(v).catch(() => {});
      await rm(join(this.dir(name), 'volume.json'), { force: true });
      this.vols.delete(name);
      await rm(this.dir(name), { recursive: true, force: true });
      this.events.publish('volume', 'destroy', name, { driver: 'local' });
    });
  }

  volumeView(v: VolumeRecord, usage?: { Size: number; RefCount: number }): Record<string, unknown> {
    return {
      CreatedAt: dockerTime(v.CreatedAt),
      Driver: v.Driver,
      Labels: sortedKeys(v.Labels),
      Mountpoint: this.mountpoint(v.Name),
      Name: v.Name,
      Options: sortedKeys(v.Options),
      Scope: 'local',
      ...(usage ? { UsageData: usage } : {}),
    };
  }

  list(filters: Filters): Record<string, unknown>[] {
    checkFilterKeys(filters, ['dangling', 'driver', 'label', 'name']);
    const dv = filters.dangling ?? [];
    const isTrue = dv.some((d) => d === 'true' || d === '1');
    const isFalse = dv.some((d) => d === 'false' || d === '0');
    // moby's GetBoolOrDefault: one sense, in those four spellings.
    if (filters.dangling && isTrue === isFalse) throw new InvalidArgumentError(`invalid filter 'dangling=[${dv.join(' ')}]'`);
    const dangling = filters.dangling ? String(isTrue) : undefined;
    return [...this.vols.values()]
      .filter((v) => {
        if (dangling !== undefined && (this.usersOf(v.Name).length === 0) !== (dangling === 'true' || dangling === '1')) return false;
        if (filters.driver?.length && !filters.driver.includes(v.Driver)) return false;
        if (filters.name?.length && !filters.name.some((n) => v.Name.includes(n))) return false;
        return matchLabels(v.Labels, filters.label);
      })
      .sort((a, b) => a.Name.localeCompare(b.Name))
      .map((v) => this.volumeView(v));
  }

  async prune(filters: Filters, apiVersion: string): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    checkFilterKeys(filters, ['label', 'label!', 'all']);
    // Since API 1.42 only anonymous volumes go unless all=true; older clients get all of them, as moby's router adds all=true for them.
    const allValues = [...(filters.all ?? []), ...(compareApiVersions(apiVersion, '1.42') < 0 ? ['true'] : [])];
    if (allValues.length > 1) throw new InvalidArgumentError(`invalid filter 'all=[${allValues.join(' ')}]': only one value is expected`);
    const allRaw = allValues[0];
    if (allRaw !== undefined && parseGoBool(allRaw) === undefined)
      throw new InvalidArgumentError(`invalid filter 'all': strconv.ParseBool: parsing "${allRaw}": invalid syntax`);
    const all = allRaw !== undefined && parseGoBool(allRaw)!;
    const deleted: string[] = [];
    let space = 0;
    for (const v of [...this.vols.values()]) {
      if (!all && !(v.Labels && ANONYMOUS_LABEL in v.Labels)) continue;
      if (!matchLabels(v.Labels, filters.label)) continue;
      if (filters['label!']?.length && filters['label!'].some((l) => matchLabels(v.Labels, [l]))) continue;
      if (this.usersOf(v.Name).length) continue;
      if (v.Options && Object.keys(v.Options).length) continue; // as moby: a volume made with driver options is never pruned
      const size = await dirSize(this.mountpoint(v.Name));
      try {
        await this.remove(v.Name);
      } catch {
        continue;
      }
      deleted.push(v.Name);
      space += size;
    }
    this.events.publish('volume', 'prune', '', { reclaimed: String(space) });
    return { VolumesDeleted: deleted, SpaceReclaimed: space };
  }

  /** For system df: every volume with its size and reference count. */
  async usage(): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for (const v of this.vols.values()) {
      out.push(this.volumeView(v, { Size: await dirSize(this.mountpoint(v.Name)), RefCount: this.usersOf(v.Name).length }));
    }
    return out;
  }

  // ---- device-backed local volumes (-o type=… device=… o=…) ------------------

  private async mountDevice(v: VolumeRecord): Promise<void> {
    const o = v.Options ?? {};
    if (!o.type) return;
    const mp = this.mountpoint(v.Name);
    if ((await run('mountpoint', ['-q', mp])).code === 0) return;
    const opts = [o.o, o.type === 'tmpfs' && o.size ? `size=${o.size}` : ''].filter(Boolean).join(',');
    const r = await run('mount', ['-t', o.type, ...(opts ? ['-o', opts] : []), o.device || o.type, mp]);
    if (r.code !== 0)
      throw new BerthError(
        `error while mounting volume '${mp}': failed to mount local volume: mount ${o.device}:${mp}, data: ${o.o ?? ''}: ${r.stderr.trim()}`,
        500,
      );
  }

  private async unmountDevice(v: VolumeRecord): Promise<void> {
    if (!v.Options?.type) return;
    const mp = this.mountpoint(v.Name);
    if ((await run('mountpoint', ['-q', mp])).code === 0) await run('umount', [mp]);
  }

  // ---- container mounts ------------------------------------------------------

  private async volumeFor(req: MountRequest, anonymous: boolean): Promise<VolumeRecord> {
    if (req.source) {
      const existing = this.vols.get(req.source);
      if (existing) return existing;
      return this.create({ Name: req.source, Labels: req.volumeLabels ?? null, DriverOpts: req.volumeDriverOpts ?? null });
    }
    return this.create({ Labels: { ...(req.volumeLabels ?? {}), ...(anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) }, DriverOpts: req.volumeDriverOpts ?? null });
  }

  async planCreate(config: ContainerConfig, h: HostConfig, containerOf: (ref: string) => Container): Promise<MountPoint[]> {
    const reqs: MountRequest[] = [];
    for (const b of h.Binds ?? []) reqs.push(parseBind(b));
    for (const m of (h.Mounts as ApiMount[] | null | undefined) ?? []) reqs.push(parseMount(m));
    const dests = new Set<string>();
    const dup = (d: string) => {
      if (dests.has(d)) throw new InvalidArgumentError(`Duplicate mount point: ${d}`);
      dests.add(d);
    };
    for (const r of reqs) dup(r.destination);
    for (const d of Object.keys(h.Tmpfs ?? {})) dup(d.replace(/(.)\/+$/, '$1'));
    for (const r of reqs) {
      if (r.type === 'bind' && r.mustExist && !existsSync(r.source)) {
        throw new InvalidArgumentError(`invalid mount config for type "bind": bind source path does not exist: ${r.source}`);
      }
    }
    const inherited: MountPoint[] = [];
    for (const spec of (h.VolumesFrom as string[] | null | undefined) ?? []) {
      const { container, mode } = parseVolumesFrom(spec);
      // 400, not 404: a 404 from create would make the docker CLI go and pull the image.
      let other: Container;
      try {
        other = containerOf(container);
      } catch (e) {
        throw new InvalidArgumentError(messageOf(e));
      }
      for (const m of other.rec.MountPoints ?? []) {
        if (dests.has(m.Destination)) continue;
        dests.add(m.Destination);
        const rw = mode ? mode === 'rw' : m.RW;
        inherited.push({ ...m, RW: rw, Mode: mode ?? m.Mode, Anonymous: false });
      }
    }
    const out: MountPoint[] = [];
    const created: string[] = [];
    try {
      for (const r of reqs) {
        if (r.type === 'bind') {
          // -v creates a missing host path as a directory, as Docker does.
          if (!existsSync(r.source)) await mkdir(r.source, { recursive: true, mode: 0o755 });
          out.push({ Type: 'bind', Source: r.source, Destination: r.destination, Mode: r.mode, RW: r.rw, Propagation: r.propagation });
        } else if (r.type === 'volume') {
          const isNew = !r.source || !this.vols.has(r.source);
          const v = await this.volumeFor(r, !r.source);
          if (isNew) created.push(v.Name);
          out.push({
            Type: 'volume',
            Name: v.Name,
            Source: '',
            Destination: r.destination,
            Driver: 'local',
            Mode: r.mode,
            RW: r.rw,
            Propagation: '',
            CopyData: r.copyData,
            ...(r.source ? {} : { Anonymous: true }),
          });
        } else {
          out.push({ Type: 'tmpfs', Source: '', Destination: r.destination, Mode: '', RW: r.rw, Propagation: '', TmpfsOptions: r.tmpfsOptions ?? [] });
        }
      }
      out.push(...inherited);
      // The image's VOLUMEs (and -v /path) not already covered get anonymous volumes.
      for (const d of Object.keys(config.Volumes ?? {})) {
        const dest = d.replace(/(.)\/+$/, '$1');
        if (dests.has(dest)) continue;
        if (!dest.startsWith('/'))
          throw new InvalidArgumentError(`invalid mount config for type "volume": invalid mount path: '${dest}' mount path must be absolute`);
        dests.add(dest);
        const v = await this.create({ Labels: { [ANONYMOUS_LABEL]: '' } });
        created.push(v.Name);
        out.push({
          Type: 'volume',
          Name: v.Name,
          Source: '',
          Destination: dest,
          Driver: 'local',
          Mode: '',
          RW: true,
          Propagation: '',
          CopyData: true,
          Anonymous: true,
        });
      }
    } catch (e) {
      for (const n of created) await this.remove(n, true).catch(() => {});
      throw e;
    }
    return out;
  }

  hostPath(m: MountPoint): string | undefined {
    if (m.Type === 'volume') return this.mountpoint(m.Name!);
    if (m.Type === 'bind') return m.Source;
    return undefined;
  }

  async attach(c: Container, rootfs: string): Promise<OciMount[]> {
    const out: OciMount[] = [];
    for (const m of c.rec.MountPoints ?? []) {
      if (m.Type === 'tmpfs') {
        out.push({
          destination: m.Destination,
          type: 'tmpfs',
          source: 'tmpfs',
          options: [m.RW ? 'rw' : 'ro', 'nosuid', 'nodev', 'noexec', ...(m.TmpfsOptions ?? [])],
        });
        continue;
      }
      if (m.Type === 'volume') {
        const v = this.vols.get(m.Name!);
        if (!v) throw new NotFoundError(`get ${m.Name}: no such volume`);
        await this.mountDevice(v);
        if (m.CopyData) await this.copyUp(rootfs, m.Destination, this.mountpoint(v.Name));
      } else if (!existsSync(m.Source)) {
        throw new InvalidArgumentError(`invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
      }
      const prop = m.Type === 'bind' ? m.Propagation || 'rprivate' : 'rprivate';
      out.push({ destination: m.Destination, type: 'bind', source: this.hostPath(m)!, options: ['rbind', m.RW ? 'rw' : 'ro', prop] });
    }
    // Parents before children, so a mount inside another lands on top of it.
    return out.sort((a, b) => a.destination.split('/').length - b.destination.split('/').length);
  }

  /**
   * Docker's copy-up: an empty volume mounted over image content starts as a
   * copy of it (owners, modes, times). The source is found through handles on
   * the rootfs and handed to cp as one (its fd 3), never as a path.
   */
  private async copyUp(rootfs: string, dest: string, data: string): Promise<void> {
    if ((await readdir(data)).length > 0) return;
    const image = Tree.open(rootfs);
    try {
      let src;
      try {
        src = image.dir(dest);
      } catch {
        return;
      } // nothing (or no directory) there in the image
      try {
        const r = await run('cp', ['-a', '--', '/proc/self/fd/3/.', `${data}/`], { fds: [src.fd] });
        if (r.code !== 0) throw new BerthError(`copying image content into volume: ${r.stderr.trim()}`, 500);
      } finally {
        image.release(src.fd);
      }
    } finally {
      image.close();
    }
  }

  async detach(c: Container): Promise<void> {
    const running = this.containers().filter((o) => o !== c && o.state.Running);
    for (const m of c.rec.MountPoints ?? []) {
      if (m.Type !== 'volume') continue;
      const v = this.vols.get(m.Name!);
      if (!v?.Options?.type) continue;
      if (running.some((o) => (o.rec.MountPoints ?? []).some((x) => x.Type === 'volume' && x.Name === v.Name))) continue;
      await this.unmountDevice(v).catch((e) => log.warn('volume unmount failed', { name: v.Name, error: messageOf(e) }));
    }
  }

  async removeContainer(c: Container, removeAnonymous: boolean): Promise<void> {
    if (!removeAnonymous) return;
    for (const m of c.rec.MountPoints ?? []) {
      if (m.Type !== 'volume' || !m.Anonymous) continue;
      // Still used by another container (through --volumes-from): keep it.
      if (this.usersOf(m.Name!).some((id) => id !== c.rec.Id)) continue;
      try {
        const v = this.vols.get(m.Name!);
        if (!v) continue;
        await this.locks.run(v.Name, async () => {
          await this.unmountDevice(v).catch(() => {});
          await rm(join(this.dir(v.Name), 'volume.json'), { force: true });
          this.vols.delete(v.Name);
          await rm(this.dir(v.Name), { recursive: true, force: true });
        });
        this.events.publish('volume', 'destroy', v.Name, { driver: 'local' });
      } catch (e) {
        log.warn('removing anonymous volume failed', { name: m.Name, error: messageOf(e) });
      }
    }
  }

  view(c: Container): Record<string, unknown>[] {
    return (c.rec.MountPoints ?? []).map((m) =>
      m.Type === 'volume'
        ? {
            Type: 'volume',
            Name: m.Name,
            Source: this.mountpoint(m.Name!),
            Destination: m.Destination,
            Driver: m.Driver ?? 'local',
            Mode: m.Mode,
            RW: m.RW,
            Propagation: m.Propagation,
          }
        : { Type: m.Type, Source: m.Source, Destination: m.Destination, Mode: m.Mode, RW: m.RW, Propagation: m.Propagation },
    );
  }
}
