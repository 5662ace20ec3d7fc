/**
 * Block device names by `major:minor`, as monitors label per-device I/O (`/dev/sda`):
 * /sys/dev/block/<maj>:<min>/uevent has the kernel's DEVNAME. Names are cached (devices
 * rarely come and go); an unknown device is '' (cAdvisor leaves the label empty too).
 */
import { readFile } from 'node:fs/promises';

const cache = new Map<string, string>();

/** The `DEVNAME=` line of a uevent file, as `/dev/<name>`; '' when absent. */
export function devNameFromUevent(text: string): string {
  const m = /^DEVNAME=(.+)$/m.exec(text);
  return m ? `/dev/${m[1]!.trim()}` : '';
}

export async function blockDeviceName(major: number, minor: number, sysRoot = '/sys'): Promise<string> {
  const key = `${major}:${minor}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const name = await readFile(`${sysRoot}/dev/block/${key}/uevent`, 'utf8').then(devNameFromUevent, () => '');
  if (cache.size > 4096) cache.clear();
  cache.set(key, name);
  return name;
}
