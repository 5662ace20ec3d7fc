/** Disk use as Docker counts it for volumes and writable layers. */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes of file content under dir: directories not counted, a file with several hard links once. */
export async function dirSize(dir: string): Promise<number> {
  const seen = new Set<number>();
  const walk = async (d: string): Promise<number> => {
    let total = 0;
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      return 0;
    }
    for (const n of names) {
      const p = join(d, n);
      const st = await lstat(p).catch(() => null);
      if (!st) continue;
      if (st.isDirectory()) {
        total += await walk(p);
        continue;
      }
      if (st.nlink > 1) {
        if (seen.has(st.ino)) continue;
        seen.add(st.ino);
      }
      total += st.size;
    }
    return total;
  };
  return walk(dir);
}
