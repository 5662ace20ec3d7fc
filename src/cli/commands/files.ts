/**
 * `cp` and `export`: clients of the archive and export routes, with docker
 * cp's rules for where things land (file→file, file→dir, dir→dir, "dir/."
 * for a directory's content, "-" for a tar on stdin/stdout).
 */
import { createWriteStream, existsSync, lstatSync, statSync } from 'node:fs';
import { dirname, basename, resolve as resolvePath } from 'node:path';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiError } from '../../client/client.js';
import { applyTar } from '../../archive/apply.js';
import { packPath, rewriteTar } from '../../archive/pack.js';
import { CliExit, type Command } from '../cli.js';
import { humanSize } from '../format/units.js';
import { isDirStat, isSymlinkStat, type PathStat } from '../../core/wire/path-stat.js';
import { daemonError } from './daemon-error.js';

const isDir = isDirStat;
const isSymlink = isSymlinkStat;

/** "ctr:path" → [ctr, path]; a local path (absolute, relative with a slash before any colon, or without colon) → [undefined, path]. */
function splitArg(arg: string): [string | undefined, string] {
  if (arg.startsWith('/') || arg.startsWith('.')) return [undefined, arg];
  const i = arg.indexOf(':');
  if (i <= 0) return [undefined, arg];
  const slash = arg.indexOf('/');
  if (slash >= 0 && slash < i) return [undefined, arg];
  return [arg.slice(0, i), arg.slice(i + 1)];
}

/** The parent and base of a path, docker's way: "a/b/" → ["a", "b"], "a/." → ["a", "."]. */
function splitDirEntry(p: string): [string, string] {
  const trimmed = p.length > 1 ? p.replace(/\/+$/, '') : p;
  const dir = posix.dirname(trimmed);
  return [dir, p.endsWith('/.') ? '.' : posix.basename(trimmed)];
}

/** Rename the first path component srcBase → dstBase in every entry (docker's RebaseArchiveEntries). */
function rebase(input: Readable, srcBase: string, dstBase: string): Readable {
  return rewriteTar(input, (h) => {
    const n = h.name;
    const rest = n === srcBase || n === `${srcBase}/` ? (n.endsWith('/') ? '/' : '') : n.startsWith(`${srcBase}/`) ? n.slice(srcBase.length) : undefined;
    const name = rest === undefined ? n : `${dstBase}${rest}`;
    let linkname = h.linkname;
    if (h.type === 'link' && linkname && (linkname === srcBase || linkname.startsWith(`${srcBase}/`))) linkname = dstBase + linkname.slice(srcBase.length);
    return { ...h, name, linkname };
  });
}

/** daemonError, with docker cp's words for a path the container lacks (a 404 without a message). */
function cpError(e: unknown, ctr?: string, path?: string): never {
  if (e instanceof ApiError && e.status === 404 && !e.message && ctr !== undefined)
    throw new CliExit(1, `Error response from daemon: Could not find the file ${path} in container ${ctr}`);
  return daemonError(e);
}

export const cp: Command = {
  usage: 'cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n       cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  summary: 'Copy files/folders between a container and the local filesystem',
  args: { min: 2, max: 2 },
  flags: [
    { name: 'archive', short: 'a', type: 'bool', help: 'Archive mode (copy all uid/gid information)' },
    { name: 'follow-link', short: 'L', type: 'bool', help: 'Always follow symbol link in SRC_PATH' },
    {
      name: 'quiet',
      short: 'q',
      type: 'bool',
      help: 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached',
    },
  ],
  async run(cli, args, f) {
    const [srcCtr, srcPath] = splitArg(args[0]!);
    const [dstCtr, dstPath] = splitArg(args[1]!);
    if (srcCtr !== undefined && dstCtr !== undefined) throw new CliExit(1, 'copying between containers is not supported');
    if (srcCtr === undefined && dstCtr === undefined) throw new CliExit(1, 'must specify at least one container source');
    if (srcPath === '' || dstPath === '') throw new CliExit(1, 'filepath can not be empty');
    const client = await cli.client();
    const q = (p: string) => ({ path: p });
    const statOf = async (ctr: string, p: string): Promise<PathStat | undefined> => {
      try {
        const res = await client.request('HEAD', `/containers/${encodeURIComponent(ctr)}/archive`, { query: q(p) });
        res.resume();
        return JSON.parse(Buffer.from(String(res.headers['x-docker-container-path-stat'] ?? ''), 'base64').toString('utf8')) as PathStat;
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 404 || e.message) return daemonError(e);
        // HEAD carries no message: tell a missing container from a missing path.
        await client.json('GET', `/containers/${encodeURIComponent(ctr)}/json`).catch((e2) => daemonError(e2));
        return undefined;
      }
    };

    if (srcCtr !== undefined) {
      // From the container.
      let path = srcPath;
      const st = await statOf(srcCtr, path);
      if (!st) throw new CliExit(1, `Error response from daemon: Could not find the file ${srcPath} in container ${srcCtr}`);
      if (f['follow-link'] && isSymlink(st)) path = st.linkTarget;
      const res = await client.request('GET', `/containers/${encodeURIComponent(srcCtr)}/archive`, { query: q(path) }).catch((e) => daemonError(e));
      if (dstPath === '-') {
        await pipeline(res, process.stdout);
        return;
      }
      const dst = resolvePath(dstPath);
      const dstExists = existsSync(dst);
      const dstIsDir = dstExists && statSync(dst).isDirectory();
      const srcIsDir = isDir(st) && !(isSymlink(st) && !f['follow-link']);
      const [, srcBase] = splitDirEntry(path);
      let target: string;
      let tar: Readable = res;
      if (dstExists && dstIsDir) target = dst;
      else if (dstExists && srcIsDir) throw new CliExit(1, 'cannot copy a directory to a file');
      else {
        if (!dstExists && dstPath.endsWith('/') && !srcIsDir) throw new CliExit(1, `destination "${dstPath}" must be a directory`);
        target = dirname(dst);
        if (!existsSync(target)) throw new CliExit(1, `destination directory "${target}" does not exist`);
        const base = f['follow-link'] && isSymlink(st) ? posix.basename(st.linkTarget) : srcBase;
        tar = rebase(res, base === '.' ? '.' : base, basename(dst));
      }
      await applyTar(target, tar, { whiteouts: 'none' });
      if (!f.quiet && process.stderr.isTTY) cli.err(`Successfully copied ${humanSize(Number(st.size))} to ${dstPath}\n`);
      return;
    }

    // Into the container.
    const ctr = dstCtr!;
    const dstSt = await statOf(ctr, dstPath);
    if (srcPath === '-') {
      if (!dstSt) throw new CliExit(1, `Error response from daemon: Could not find the file ${dstPath} in container ${ctr}`);
      if (!isDir(dstSt)) throw new CliExit(1, `destination "${ctr}:${dstPath}" must be a directory`);
      await client
        .json('PUT', `/containers/${encodeURIComponent(ctr)}/archive`, {
          query: { path: dstPath, copyUIDGID: f.archive ? 'true' : undefined },
          body: process.stdin,
          headers: { 'Content-Type': 'application/x-tar' },
        })
        .catch((e) => daemonError(e));
      return;
    }
    const local = resolvePath(srcPath) + (srcPath.endsWith('/.') ? '/.' : '');
    let lst;
    try {
      lst = f['follow-link'] ? statSync(local) : lstatSync(local);
    } catch {
      throw new CliExit(1, `lstat ${local}: no such file or directory`);
    }
    const srcIsDir = lst.isDirectory();
    const [, srcBase] = splitDirEntry(srcPath);
    let tar = packPath(f['follow-link'] ? resolvePath(srcPath) : local, srcBase === '.' ? '.' : srcBase);
    let putPath: string;
    if (dstSt && isDir(dstSt)) putPath = dstPath;
    else if (dstSt && srcIsDir) throw new CliExit(1, 'Error response from daemon: cannot copy a directory to a file');
    else {
      if (!dstSt && dstPath.endsWith('/') && !srcIsDir) throw new CliExit(1, `destination "${ctr}:${dstPath}" must be a directory`);
      const [dstDir, dstBase] = splitDirEntry(dstPath.startsWith('/') ? dstPath : `/${dstPath}`);
      putPath = dstDir;
      tar = rebase(tar, srcBase, dstBase);
    }
    await client
      .json('PUT', `/containers/${encodeURIComponent(ctr)}/archive`, {
        query: { path: putPath, copyUIDGID: f.archive ? 'true' : undefined },
        body: tar,
        headers: { 'Content-Type': 'application/x-tar' },
      })
      .catch((e) => cpError(e, ctr, putPath));
    if (!f.quiet && process.stderr.isTTY) cli.err(`Successfully copied ${humanSize(lst.size)} to ${ctr}:${dstPath}\n`);
  },
};

export const exportCmd: Command = {
  usage: 'export [OPTIONS] CONTAINER',
  summary: "Export a container's filesystem as a tar archive",
  args: { min: 1, max: 1 },
  flags: [{ name: 'output', short: 'o', type: 'string', help: 'Write to a file, instead of STDOUT' }],
  async run(cli, args, f) {
    const out = f.output as string | undefined;
    if (!out && process.stdout.isTTY) throw new CliExit(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const client = await cli.client();
    const res = await client.request('GET', `/containers/${encodeURIComponent(args[0]!)}/export`).catch((e) => daemonError(e));
    await pipeline(res, out ? createWriteStream(out) : process.stdout);
  },
};
