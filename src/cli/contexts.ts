/**
 * CLI contexts, stored as docker stores them in the client config dir (the
 * one berth shares with docker for logins, see credentials.ts):
 *
 *   contexts/meta/<sha256 of name>/meta.json   {"Name", "Metadata": {"Description"}, "Endpoints": {"docker": {"Host", "SkipTLSVerify"}}}
 *   config.json "currentContext"               the context commands use when no -H / BERTH_HOST is given
 *
 * So a context made with `docker context create` works with berth, and the
 * other way round. "default" is never stored: it is the host berth would use
 * without contexts.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { configDir, configPath } from './credentials.js';

export const DEFAULT_CONTEXT = 'default';
export const DEFAULT_DESCRIPTION = 'Current BERTH_HOST based configuration';
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/;

export interface ContextMeta {
  Name: string;
  Metadata: { Description?: string };
  Endpoints: { docker?: { Host: string; SkipTLSVerify: boolean } };
}

export class ContextError extends Error {}

function metaDir(name: string): string {
  return join(configDir(), 'contexts', 'meta', createHash('sha256').update(name).digest('hex'));
}

export function metaPath(name: string): string {
  return join(metaDir(name), 'meta.json');
}

export function tlsPath(name: string): string {
  return join(configDir(), 'contexts', 'tls', createHash('sha256').update(name).digest('hex'));
}

export function checkName(name: string): void {
  if (!NAME_RE.test(name)) throw new ContextError(`context name ${JSON.stringify(name)} is invalid, names are validated against regexp "${NAME_RE.source}"`);
}

/** A stored context; docker's words when there is none. */
export function readContext(name: string): ContextMeta {
  const p = metaPath(name);
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as ContextMeta;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new ContextError(`context ${JSON.stringify(name)}: context not found: open ${p}: no such file or directory`);
    throw err;
  }
}

export function exists(name: string): boolean {
  try {
    readFileSync(metaPath(name));
    return true;
  } catch {
    return false;
  }
}

export function listContexts(): ContextMeta[] {
  const root = join(configDir(), 'contexts', 'meta');
  let dirs: string[] = [];
  try {
    dirs = readdirSync(root);
  } catch {
    /* none yet */
  }
  const out: ContextMeta[] = [];
  for (const d of dirs) {
    try {
      out.push(JSON.parse(readFileSync(join(root, d, 'meta.json'), 'utf8')) as ContextMeta);
    } catch {
      /* not a context */
    }
  }
  return out.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

export async function writeContext(meta: ContextMeta): Promise<void> {
  await writeFileAtomic(metaPath(meta.Name), JSON.stringify(meta));
}

export function removeContext(name: string): void {
  rmSync(metaDir(name), { recursive: true, force: true });
  rmSync(tlsPath(name), { recursive: true, force: true });
}

function readConfig(): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(configPath(), 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** The context config.json names (docker's `currentContext`), "default" when none. */
export function currentContext(): string {
  const c = readConfig().currentContext;
  return typeof c === 'string' && c ? c : DEFAULT_CONTEXT;
}

export async function setCurrentContext(name: string): Promise<void> {
  const cfg = readConfig();
  if (name === DEFAULT_CONTEXT) delete cfg.currentContext;
  else cfg.currentContext = name;
  await writeFileAtomic(configPath(), JSON.stringify(cfg, null, '\t'));
}
