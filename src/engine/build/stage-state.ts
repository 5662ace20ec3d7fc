/**
 * What one stage carries from instruction to instruction (its current image
 * and config, its ARGs, MAINTAINER and escape character), and the reads of
 * it every instruction executor makes: the shell, the variables a word may
 * expand, an ENV entry set by name.
 */
import type { ContainerConfig } from '../../core/wire/container-config.js';
import { envMap, type Env } from '../../dockerfile/shell-lex.js';
import type { ImageRecord } from '../images/types.js';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];
/** Build args every build accepts without an ARG: they reach RUN's environment but not the cache key. */
export const PROXY_ARGS = [
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
];

export interface StageState {
  image?: ImageRecord;
  config: ContainerConfig;
  /** Declared ARGs of this stage and their values (undefined: declared without one). */
  args: Map<string, string | undefined>;
  maintainer?: string;
  escape: string;
}

/** Where a step's output goes: the stage's place in the ordered build output. */
export type StepWrite = (t: string) => void;

/** The shell a shell-form instruction runs in: SHELL's, else /bin/sh -c. */
export function stageShell(st: StageState): string[] {
  return st.config.Shell?.length ? st.config.Shell : DEFAULT_SHELL;
}

/** Variables an instruction may expand: ENV over ARG. */
export function stageEnv(st: StageState): Env {
  const m = new Map<string, string>();
  for (const [k, v] of st.args) if (v !== undefined) m.set(k, v);
  for (const [k, v] of envMap(st.config.Env ?? [])) m.set(k, v);
  return m;
}

export function envKey(e: string): string {
  const i = e.indexOf('=');
  return i < 0 ? e : e.slice(0, i);
}

export function setEnv(list: string[] | null | undefined, k: string, v: string): string[] {
  const out = [...(list ?? [])];
  const i = out.findIndex((e) => envKey(e) === k);
  if (i >= 0) out[i] = `${k}=${v}`;
  else out.push(`${k}=${v}`);
  return out;
}
