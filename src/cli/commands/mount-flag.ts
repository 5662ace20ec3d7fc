/** `--mount type=…,source=…,target=…`: docker's CSV mount syntax, parsed apart from run-options.ts because it is a small language of its own. */
import { CliExit } from '../cli.js';
import { ramInBytes } from './size-flag.js';

function boolOpt(flag: string, key: string, v: string | undefined): boolean {
  if (v === undefined) return true;
  if (['1', 'true', 't', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'false', 'f', 'FALSE', 'False'].includes(v)) return false;
  throw new CliExit(125, `invalid argument "${flag}" for "--mount" flag: invalid value for ${key}: ${v}`);
}

/** `--mount type=bind,source=/x,target=/y,readonly`: docker's CSV, into one HostConfig.Mounts entry. */
export function parseMountFlag(flag: string): Record<string, unknown> {
  const m: Record<string, unknown> = { Type: 'volume' };
  const bind: Record<string, unknown> = {};
  const vol: Record<string, unknown> = {};
  const labels: Record<string, string> = {};
  const driverOpts: Record<string, string> = {};
  let driver: string | undefined;
  const tmpfs: Record<string, unknown> = {};
  const bad = (msg: string): never => {
    throw new CliExit(125, `invalid argument "${flag}" for "--mount" flag: ${msg}`);
  };
  for (const field of flag.split(',')) {
    if (!field) continue;
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const val = eq < 0 ? undefined : field.slice(eq + 1);
    if (val === undefined && !['readonly', 'ro', 'volume-nocopy', 'bind-nonrecursive', 'bind-create-host-path'].includes(key))
      bad(`invalid field '${field}' must be a key=value pair`);
    switch (key) {
      case 'type':
        m.Type = val;
        break;
      case 'source':
      case 'src':
        m.Source = val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.Target = val;
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = boolOpt(flag, key, val);
        break;
      case 'consistency':
        m.Consistency = val;
        break;
      case 'bind-propagation':
        bind.Propagation = val;
        break;
      case 'bind-nonrecursive':
        bind.NonRecursive = boolOpt(flag, key, val);
        break;
      case 'bind-create-host-path':
        bind.CreateMountpoint = boolOpt(flag, key, val);
        break;
      case 'volume-nocopy':
        vol.NoCopy = boolOpt(flag, key, val);
        break;
      case 'volume-label': {
        const [k, ...v] = val!.split('=');
        labels[k!] = v.join('=');
        break;
      }
      case 'volume-driver':
        driver = val;
        break;
      case 'volume-opt': {
        const [k, ...v] = val!.split('=');
        driverOpts[k!] = v.join('=');
        break;
      }
      case 'volume-subpath':
        vol.Subpath = val;
        break;
      case 'tmpfs-size':
        tmpfs.SizeBytes = ramInBytes('mount', val!);
        break;
      case 'tmpfs-mode':
        tmpfs.Mode = Number.parseInt(val!, 8);
        break;
      default:
        bad(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (!m.Target) bad('target is required');
  if (Object.keys(labels).length) vol.Labels = labels;
  if (driver || Object.keys(driverOpts).length) vol.DriverConfig = { Name: driver ?? '', Options: driverOpts };
  if (Object.keys(bind).length) m.BindOptions = bind;
  if (Object.keys(vol).length) m.VolumeOptions = vol;
  if (Object.keys(tmpfs).length) m.TmpfsOptions = tmpfs;
  return m;
}
