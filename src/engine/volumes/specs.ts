/**
 * Docker's mount specifications, parsed and checked with its messages:
 * HostConfig.Binds strings (`-v src:dst[:opts]`), HostConfig.Mounts objects
 * (`--mount`), and volume names. Pure: no filesystem access.
 */
import { posix } from 'node:path';
import { InvalidArgumentError } from '../../core/errors.js';

export const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** A local volume is a directory named after it: no longer than a file name may be (NAME_MAX). */
const VOLUME_NAME_MAX = 255;

export function checkVolumeName(name: string): void {
  if (Buffer.byteLength(name) > VOLUME_NAME_MAX) {
    throw new InvalidArgumentError(`create ${name}: volume name is too long: at most ${VOLUME_NAME_MAX} bytes are allowed`);
  }
  if (name.length === 1) throw new InvalidArgumentError(`create ${name}: volume name is too short, names should be at least two alphanumeric characters`);
  if (!VOLUME_NAME_RE.test(name)) {
    throw new InvalidArgumentError(
      `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
}

/** A mount request, before volumes are looked up or created. */
export interface MountRequest {
  type: 'volume' | 'bind' | 'tmpfs';
  /** Volume name ('' for a new anonymous volume) or host path. */
  source: string;
  destination: string;
  mode: string;
  rw: boolean;
  propagation: string;
  copyData: boolean;
  /** Bind: refuse a missing source (--mount) instead of creating it (-v). */
  mustExist: boolean;
  tmpfsOptions?: string[];
  volumeLabels?: Record<string, string>;
  volumeDriverOpts?: Record<string, string>;
}

const PROPAGATION = new Set(['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate']);
const LABELS = new Set(['z', 'Z']);

function destination(spec: string, dst: string): string {
  if (!posix.isAbsolute(dst))
    throw new InvalidArgumentError(
      `invalid volume specification: '${spec}': invalid mount config for type "${'volume'}": invalid mount path: '${dst}' mount path must be absolute`,
    );
  const d = posix.normalize(dst).replace(/(.)\/+$/, '$1');
  if (d === '/')
    throw new InvalidArgumentError(
      `invalid volume specification: '${spec}': invalid mount config for type "bind": invalid specification: destination can't be '/'`,
    );
  return d;
}

/** One HostConfig.Binds entry: `name:/dst[:opts]` or `/host:/dst[:opts]`. */
export function parseBind(spec: string): MountRequest {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) throw new InvalidArgumentError(`invalid volume specification: '${spec}'`);
  const [src, dst, opts = ''] = parts as [string, string, string?];
  const isBind = src.startsWith('/');
  if (!isBind) checkVolumeName(src);
  let rw = true;
  let propagation = isBind ? 'rprivate' : '';
  let copyData = true;
  const seen = new Set<string>();
  for (const o of opts ? opts.split(',') : []) {
    const kind = o === 'ro' || o === 'rw' ? 'rw' : PROPAGATION.has(o) ? 'prop' : LABELS.has(o) ? 'label' : o === 'nocopy' ? 'copy' : '';
    if (!kind || seen.has(kind)) throw new InvalidArgumentError(`invalid mode: ${opts}`);
    seen.add(kind);
    if (kind === 'rw') rw = o === 'rw';
    else if (kind === 'prop') {
      if (!isBind) throw new InvalidArgumentError(`invalid mode: ${opts}`);
      propagation = o;
    } else if (kind === 'copy') {
      if (isBind) throw new InvalidArgumentError(`invalid mode: ${opts}`);
      copyData = false;
    }
  }
  return {
    type: isBind ? 'bind' : 'volume',
    source: isBind ? posix.normalize(src).replace(/(.)\/+$/, '$1') : src,
    destination: destination(spec, dst),
    mode: opts || (isBind ? '' : 'z'),
    rw,
    propagation,
    copyData,
    mustExist: false,
  };
}

/** HostConfig.Mounts entry as the API sends it. */
export interface ApiMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; CreateMountpoint?: boolean; NonRecursive?: boolean } | null;
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Record<string, string> | null;
    DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null;
    Subpath?: string;
  } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; Options?: string[][] | null } | null;
}

function mountError(type: string, msg: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid mount config for type "${type}": ${msg}`);
}

export function parseMount(m: ApiMount): MountRequest {
  const type = m.Type ?? '';
  if (!['bind', 'volume', 'tmpfs'].includes(type)) {
    if (type === 'npipe' || type === 'cluster' || type === 'image') throw mountError(type, 'mount type unknown');
    throw new InvalidArgumentError(`mount type unknown: "${type}"`);
  }
  const target = m.Target ?? '';
  if (!target) throw mountError(type, 'field Target must not be empty');
  if (!posix.isAbsolute(target)) throw mountError(type, `invalid mount path: '${target}' mount path must be absolute`);
  const dst = posix.normalize(target).replace(/(.)\/+$/, '$1');
  if (dst === '/') throw mountError(type, `invalid specification: destination can't be '/'`);
  const src = m.Source ?? '';
  const rw = !m.ReadOnly;
  if (type === 'bind') {
    if (!src) throw mountError(type, 'field Source must not be empty');
    if (!posix.isAbsolute(src)) throw mountError(type, `invalid mount path: '${src}' mount path must be absolute`);
    if (m.VolumeOptions) throw mountError(type, 'field VolumeOptions must not be specified');
    if (m.TmpfsOptions) throw mountError(type, 'field TmpfsOptions must not be specified');
    const prop = m.BindOptions?.Propagation || 'rprivate';
    if (!PROPAGATION.has(prop)) throw mountError(type, `invalid propagation mode: ${prop}`);
    return {
      type,
      source: posix.normalize(src),
      destination: dst,
      mode: '',
      rw,
      propagation: prop,
      copyData: false,
      mustExist: !m.BindOptions?.CreateMountpoint,
    };
  }
  if (type === 'volume') {
    if (src) checkVolumeName(src);
    if (m.BindOptions) throw mountError(type, 'field BindOptions must not be specified');
    if (m.TmpfsOptions) throw mountError(type, 'field TmpfsOptions must not be specified');
    const driver = m.VolumeOptions?.DriverConfig?.Name;
    if (driver && driver !== 'local') throw new InvalidArgumentError(`plugin "${driver}" not found`);
    return {
      type,
      source: src,
      destination: dst,
      mode: '',
      rw,
      propagation: '',
      copyData: !m.VolumeOptions?.NoCopy,
      mustExist: false,
      volumeLabels: m.VolumeOptions?.Labels ?? undefined,
      volumeDriverOpts: m.VolumeOptions?.DriverConfig?.Options ?? undefined,
    };
  }
  if (src) throw mountError(type, 'field Source must not be specified');
  if (m.BindOptions) throw mountError(type, 'field BindOptions must not be specified');
  if (m.VolumeOptions) throw mountError(type, 'field VolumeOptions must not be specified');
  const opts: string[] = [];
  const t = m.TmpfsOptions;
  if (t?.SizeBytes) {
    if (t.SizeBytes < 0) throw mountError(type, `invalid tmpfs size: ${t.SizeBytes}`);
    opts.push(`size=${t.SizeBytes}`);
  }
  if (t?.Mode) opts.push(`mode=${(t.Mode & 0o7777).toString(8)}`);
  for (const o of t?.Options ?? []) opts.push(o.length > 1 ? `${o[0]}=${o[1]}` : o[0]!);
  return { type: 'tmpfs', source: '', destination: dst, mode: '', rw, propagation: '', copyData: false, mustExist: false, tmpfsOptions: opts };
}

/** `--volumes-from ctr[:ro|:rw]`. */
export function parseVolumesFrom(spec: string): { container: string; mode?: 'ro' | 'rw' } {
  const [container, mode, extra] = spec.split(':');
  if (!container || extra !== undefined || (mode !== undefined && mode !== 'ro' && mode !== 'rw' && mode !== 'z' && mode !== 'Z')) {
    throw new InvalidArgumentError(`invalid mode: ${mode ?? ''}`);
  }
  return { container, ...(mode === 'ro' || mode === 'rw' ? { mode } : {}) };
}

/** The local driver's `-o` options: type, device, o (and size), as Docker's local driver takes them. */
export function checkLocalOpts(opts: Record<string, string>): void {
  for (const k of Object.keys(opts)) {
    if (!['type', 'device', 'o', 'size'].includes(k)) throw new InvalidArgumentError(`invalid option: "${k}"`);
  }
  if ((opts.device || opts.o) && !opts.type) throw new InvalidArgumentError('missing required option: "type"');
  if (opts.type && !opts.device && opts.type !== 'tmpfs') throw new InvalidArgumentError('missing required option: "device"');
}
