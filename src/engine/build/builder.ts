/**
 * The builder: a Dockerfile evaluated as Docker's classic builder does.
 *
 * Every instruction of a stage makes an image whose parent is the image
 * before it: RUN, COPY, ADD (and WORKDIR when it creates a directory) add
 * a layer, the others only change the config and appear in history as
 * empty layers. Before doing an instruction's work the builder looks for a
 * child of the current image made by the same instruction (same container
 * config, which for COPY/ADD holds the hash of what is copied and for RUN
 * the build args in effect) — the build cache, which lives in the image
 * store and so survives daemon restarts.
 *
 * Stages a target does not need are not built; stages that do not depend
 * on each other build at the same time, their output kept in stage order.
 * Which stages, and what they depend on, is dockerfile/stages.ts's plan; the
 * cache lookup is cache.ts. Over 400 lines: this is the instruction executor,
 * one class whose instructions share the stage state.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { writeLoneFile } from '../../dockerfile/unpack.js';
import { shortId, type Digest } from '../../core/digest.js';
import { BerthError, InvalidArgumentError, NotFoundError, messageOf } from '../../core/errors.js';
import { parseGoDuration } from '../../core/go-time.js';
import { familiarString, parseReference, withDefaultTag, type Reference } from '../../core/reference.js';
import { BuildContext, cleanContextPath } from '../../dockerfile/context.js';
import { parseDockerfile, parseKeyValues, parseTrigger, splitRawWords, type Dockerfile, type Node } from '../../dockerfile/parser.js';
import { envMap, processWord, processWords, type Env } from '../../dockerfile/shell-lex.js';
import { metaEnv, neededStages, planStages, stageRef, targetStage, type Stage } from '../../dockerfile/stages.js';
import { readLogs } from '../containers/logs.js';
import type { ContainerService } from '../containers/service.js';
import type { ImageService } from '../images/service.js';
import type { ImageStorage } from '../images/storage.js';
import type { ContainerConfig } from '../../core/wire/container-config.js';
import type { ImageRecord } from '../images/types.js';
import { Tree } from '../../archive/tree.js';
import { BuildCache } from './cache.js';
import { contextSources, isArchive, performCopy, type CopySource } from './copy.js';
import { createImage } from './image.js';
import { commitSnapshot } from './layers.js';

const DEFAULT_SHELL = ['/bin/sh', '-c'];
const PROXY_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

export interface BuildOptions {
  context: BuildContext;
  /** The build's own directory in the spool, for files it makes (heredocs, downloads); removed with the build. */
  scratch: string;
  dockerfile: string;
  tags: string[];
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  pull: boolean;
  cacheFrom: string[];
  networkMode?: string;
  extraHosts: string[];
  rm: boolean;
  forceRm: boolean;
  /** Fetch an image that is not stored locally (FROM, --pull); absent when the daemon cannot pull. */
  pullImage?: (ref: string) => Promise<void>;
  /** Aborted when the client goes away: the build stops where it is and takes down what it started. */
  signal?: AbortSignal;
}

export interface BuildOutput {
  stream(text: string): void;
  aux(v: unknown): void;
}

/** The build was cancelled (its client hung up), in the words dockerd uses. */
export class BuildCancelledError extends BerthError {
  constructor() {
    super('context canceled', 499);
  }
}

/** A build failure with the exit code the CLI should leave with. */
export class BuildError extends BerthError {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message, 500);
  }
}

interface StageState {
  image?: ImageRecord;
  config: ContainerConfig;
  /** Declared ARGs of this stage and their values (undefined: declared without one). */
  args: Map<string, string | undefined>;
  maintainer?: string;
  escape: string;
}

/** Ordered output: a stage writes live when every stage before it has finished, else into its buffer. */
class StagePrinter {
  private bufs = new Map<number, string[]>();
  private done = new Set<number>();
  private current = 0;
  constructor(
    private readonly order: number[],
    private readonly out: BuildOutput,
  ) {}
  write(stage: number, text: string): void {
    if (this.order[this.current] === stage) this.out.stream(text);
    else {
      const b = this.bufs.get(stage) ?? [];
      b.push(text);
      this.bufs.set(stage, b);
    }
  }
  finish(stage: number): void {
    this.done.add(stage);
    while (this.current < this.order.length && this.done.has(this.order[this.current]!)) {
      this.current++;
      const next = this.order[this.current];
      if (next === undefined) break;
      for (const t of this.bufs.get(next) ?? []) this.out.stream(t);
      this.bufs.delete(next);
    }
  }
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}
function goList(a: string[]): string {
  return `[${a.map(goQuote).join(' ')}]`;
}
function goDuration(ns: number): string {
  if (!ns) return '0s';
  let s = ns / 1e9;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const sec = Number(s.toFixed(9)).toString();
  return h ? `${h}h${m}m${sec}s` : m ? `${m}m${sec}s` : `${sec}s`;
}
function flagDuration(v: string, flag: string): number {
  try {
    return Number(parseGoDuration(v));
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message} for --${flag}`);
  }
}

function parseFlags(node: Node, allowed: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of node.flags) {
    const m = /^--([a-zA-Z-]+)(?:=(.*))?$/s.exec(f);
    if (!m) throw new InvalidArgumentError(`dockerfile parse error line ${node.line}: invalid flag ${f}`);
    if (!allowed.includes(m[1]!)) {
      if (['mount', 'network', 'security', 'link', 'parents', 'exclude', 'checksum', 'keep-git-dir'].includes(m[1]!)) {
        throw new InvalidArgumentError(
          `the --${m[1]} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`,
        );
      }
      throw new InvalidArgumentError(`dockerfile parse error line ${node.line}: Unknown flag: ${m[1]}`);
    }
    out.set(m[1]!, (m[2] ?? '').replace(/^(["'])(.*)\1$/s, '$2'));
  }
  return out;
}

function envKey(e: string): string {
  const i = e.indexOf('=');
  return i < 0 ? e : e.slice(0, i);
}

function setEnv(list: string[] | null | undefined, k: string, v: string): string[] {
  const out = [...(list ?? [])];
  const i = out.findIndex((e) => envKey(e) === k);
  if (i >= 0) out[i] = `${k}=${v}`;
  else out.push(`${k}=${v}`);
  return out;
}

export class Builder {
  private stepTotal = 0;
  private usedArgs = new Set<string>();
  private stageImages = new Map<number, Promise<ImageRecord | undefined>>();
  private stages: Stage[] = [];
  private metaArgs = new Map<string, string | undefined>();
  private printer!: StagePrinter;
  private df!: Dockerfile;
  private holds: Array<() => void> = [];
  private failedContainers: string[] = [];
  private readonly cache: BuildCache;

  constructor(
    private readonly images: ImageService,
    private readonly storage: ImageStorage,
    private readonly containers: ContainerService,
    private readonly o: BuildOptions,
    private readonly out: BuildOutput,
  ) {
    this.cache = new BuildCache(images, o.cacheFrom);
  }

  async build(): Promise<Digest> {
    const dfPath = cleanContextPath(this.o.dockerfile || 'Dockerfile');
    let dfEntry = this.o.context.resolve(dfPath);
    if (!dfEntry && !this.o.dockerfile) dfEntry = this.o.context.resolve('dockerfile');
    if (dfEntry?.type !== 'file') {
      throw new BerthError(`Cannot locate specified Dockerfile: ${this.o.dockerfile || 'Dockerfile'}`);
    }
    const text = (await this.o.context.readFile(dfEntry)).toString('utf8');
    await this.o.context.removeIgnoredControlFiles(dfPath);
    this.df = parseDockerfile(text);
    for (const w of this.df.warnings) this.out.stream(w + '\n');
    if (this.df.nodes.length === 0) throw new InvalidArgumentError('the Dockerfile (Dockerfile) cannot be empty');
    const plan = planStages(this.df, this.o.buildArgs);
    this.stages = plan.stages;
    this.metaArgNodes = plan.metaArgNodes;
    this.metaArgs = plan.metaArgs;
    for (const k of plan.usedArgs) this.usedArgs.add(k);
    const targetIdx = targetStage(this.stages, this.o.target);
    if (targetIdx < 0) throw new InvalidArgumentError(`failed to reach build target ${this.o.target} in Dockerfile`);
    const order = neededStages(this.stages, targetIdx);
    // --label: one more LABEL step at the end of the target stage.
    const labels = Object.entries(this.o.labels);
    if (labels.length) {
      const text = `LABEL ${labels.map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' ')}`;
      const target = this.stages[targetIdx]!;
      target.nodes.push({ ...parseDockerfile(text).nodes[0]!, line: target.from.line });
    }
    let step = this.metaArgNodes.length;
    for (const i of order) {
      const s = this.stages[i]!;
      s.firstStep = step + 1;
      step += 1 + s.nodes.length;
    }
    this.stepTotal = step;
    this.printer = new StagePrinter([-1, ...order], this.out);
    try {
      let n = 0;
      for (const a of this.metaArgNodes) {
        n++;
        this.printer.write(-1, `Step ${n}/${this.stepTotal} : ${a.original}`);
        this.printer.write(-1, '\n');
      }
      this.printer.finish(-1);
      for (const i of order)
        this.stageImages.set(
          i,
          this.runStage(this.stages[i]!).finally(() => this.printer.finish(i)),
        );
      // Every needed stage must succeed; the first failure is the build's error.
      const results = await Promise.allSettled(order.map((i) => this.stageImages.get(i)!));
      const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      if (failed) throw failed.reason;
      this.checkCancelled();
      const final = await this.stageImages.get(targetIdx)!;
      if (!final) throw new InvalidArgumentError('No image was generated. Is your Dockerfile empty?');
      const unused = Object.keys(this.o.buildArgs)
        .filter((k) => !this.usedArgs.has(k) && !PROXY_ARGS.includes(k))
        .sort();
      if (unused.length) this.out.stream(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
      this.out.aux({ ID: final.id });
      this.out.stream(`Successfully built ${shortId(final.id)}\n`);
      for (const t of this.o.tags) {
        const ref = withDefaultTag(parseReference(t));
        await this.images.tag(final.id, familiarString(ref));
        this.out.stream(`Successfully tagged ${familiarString(ref)}\n`);
      }
      return final.id;
    } finally {
      for (const h of this.holds) h();
    }
  }

  private metaArgNodes: Node[] = [];

  private checkCancelled(): void {
    if (this.o.signal?.aborted) throw new BuildCancelledError();
  }

  /** The index of an earlier stage `name` denotes (by name or number), if it names one. */
  private stageRef(name: string, before: number): number | undefined {
    return stageRef(this.stages, name, before);
  }

  private metaEnv(): Env {
    return metaEnv(this.metaArgs);
  }

  /** Variables an instruction may expand: ENV over ARG. */
  private env(st: StageState): Env {
    const m = new Map<string, string>();
    for (const [k, v] of st.args) if (v !== undefined) m.set(k, v);
    for (const [k, v] of envMap(st.config.Env ?? [])) m.set(k, v);
    return m;
  }

  private async runStage(s: Stage): Promise<ImageRecord | undefined> {
    const write = (t: string) => this.printer.write(s.index, t);
    const st: StageState = { config: {}, args: new Map(), escape: this.df.escape };
    let step = s.firstStep;
    // The step line and its newline are two messages, as the classic builder writes them.
    write(`Step ${step}/${this.stepTotal} : ${s.from.original}`);
    write('\n');
    await this.from(s, st, write);
    for (const n of s.nodes) {
      this.checkCancelled();
      step++;
      write(`Step ${step}/${this.stepTotal} : ${n.original}`);
      write('\n');
      await this.dispatch(st, n, write, s);
      if (st.image) write(` ---> ${shortId(st.image.id)}\n`);
    }
    return st.image;
  }

  private async resolveImage(name: string): Promise<ImageRecord> {
    let ref: Reference;
    try {
      ref = withDefaultTag(parseReference(name));
    } catch (e) {
      throw new InvalidArgumentError(messageOf(e));
    }
    const shown = familiarString(ref);
    let rec = this.images.tryResolve(name);
    if ((!rec || this.o.pull) && this.o.pullImage) {
      try {
        await this.o.pullImage(name);
      } catch (e) {
        if (!rec) throw e;
      }
      rec = this.images.tryResolve(name);
    }
    if (!rec) throw new NotFoundError(`No such image: ${shown}`);
    return rec;
  }

  private async from(s: Stage, st: StageState, write: (t: string) => void): Promise<void> {
    const flags = parseFlags(s.from, ['platform']);
    void flags;
    const words = processWords(s.from.args, this.metaEnv(), this.df.escape);
    const base = words[0]!;
    const dep = this.stageRef(base, s.index);
    let rec: ImageRecord | undefined;
    if (dep !== undefined) rec = await this.stageImages.get(dep);
    else if (base.toLowerCase() !== 'scratch') rec = await this.resolveImage(base);
    if (rec) {
      this.holds.push(this.images.holdLayers(rec));
      const cfg = await this.images.config(rec.id);
      st.config = { ...(cfg.config ?? {}) };
      st.image = rec;
      write(` ---> ${shortId(rec.id)}\n`);
      const triggers = cfg.config?.OnBuild ?? [];
      if (triggers.length) {
        write(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
        st.config.OnBuild = [];
        for (const t of triggers) {
          const node = parseTrigger(t, this.df.escape);
          if (['onbuild', 'from', 'maintainer'].includes(node.cmd))
            throw new InvalidArgumentError(`${node.cmd.toUpperCase()} isn't allowed as an ONBUILD trigger`);
          await this.dispatch(st, node, write, s);
        }
        if (st.image) write(` ---> ${shortId(st.image.id)}\n`);
      }
    } else {
      st.config = {};
    }
    if (!st.config.Env?.some((e) => e.startsWith('PATH=')))
      st.config.Env = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...(st.config.Env ?? [])];
  }

  // ---- instructions ---------------------------------------------------------

  private async dispatch(st: StageState, n: Node, write: (t: string) => void, s: Stage): Promise<void> {
    const env = () => this.env(st);
    const esc = st.escape;
    const word = (x: string) => processWord(x, env(), esc, this.usedArgs);
    switch (n.cmd) {
      case 'env': {
        const pairs = parseKeyValues('ENV', n.args, esc).map(([k, v]) => [word(k), word(v)] as const);
        for (const [k, v] of pairs) st.config.Env = setEnv(st.config.Env, k, v);
        return this.commitConfig(st, `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, write);
      }
      case 'label': {
        const pairs = parseKeyValues('LABEL', n.args, esc).map(([k, v]) => [word(k), word(v)] as const);
        st.config.Labels = { ...(st.config.Labels ?? {}) };
        for (const [k, v] of pairs) st.config.Labels[k] = v;
        return this.commitConfig(st, `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, write);
      }
      case 'maintainer':
        st.maintainer = n.args;
        return this.commitConfig(st, `MAINTAINER ${n.args}`, write);
      case 'arg': {
        const parts: string[] = [];
        for (const w of splitRawWords(n.args, esc)) {
          const eq = w.indexOf('=');
          const k = eq < 0 ? w : w.slice(0, eq);
          const def = eq < 0 ? undefined : word(w.slice(eq + 1));
          let v: string | undefined;
          if (Object.hasOwn(this.o.buildArgs, k) && this.o.buildArgs[k] !== null) {
            v = this.o.buildArgs[k]!;
            this.usedArgs.add(k);
          } else v = def ?? this.metaArgs.get(k);
          st.args.set(k, v);
          parts.push(eq < 0 ? k : `${k}=${def}`);
        }
        return this.commitConfig(st, `ARG ${parts.join(' ')}`, write);
      }
      case 'cmd':
      case 'entrypoint': {
        const argv = n.json ?? [...(st.config.Shell ?? DEFAULT_SHELL), n.args];
        if (n.cmd === 'cmd') st.config.Cmd = argv;
        else {
          st.config.Entrypoint = argv;
          if (!s.nodes.slice(s.nodes.indexOf(n) + 1).some((x) => x.cmd === 'cmd')) st.config.Cmd = null;
        }
        if (!n.json) st.config.ArgsEscaped = true;
        return this.commitConfig(st, `${n.cmd.toUpperCase()} ${goList(argv)}`, write);
      }
      case 'expose': {
        const ports = processWords(n.args, env(), esc, this.usedArgs);
        st.config.ExposedPorts = { ...(st.config.ExposedPorts ?? {}) };
        for (const p of ports) {
          const [port, proto = 'tcp'] = p.split('/');
          if (!/^\d+(-\d+)?$/.test(port!)) throw new InvalidArgumentError(`invalid containerPort: ${port}`);
          st.config.ExposedPorts[`${port}/${proto.toLowerCase()}`] = {};
        }
        return this.commitConfig(st, `EXPOSE ${ports.join(' ')}`, write);
      }
      case 'volume': {
        const vols = n.json ? n.json.map(word) : processWords(n.args, env(), esc, this.usedArgs);
        st.config.Volumes = { ...(st.config.Volumes ?? {}) };
        for (const v of vols) {
          if (!v.trim()) throw new InvalidArgumentError('VOLUME specified can not be an empty string');
          st.config.Volumes[v] = {};
        }
        return this.commitConfig(st, `VOLUME [${vols.join(' ')}]`, write);
      }
      case 'user':
        st.config.User = word(n.args);
        return this.commitConfig(st, `USER ${st.config.User}`, write);
      case 'stopsignal': {
        const sig = word(n.args);
        if (!/^(SIG)?[A-Z0-9+-]+$|^\d+$/i.test(sig)) throw new InvalidArgumentError(`Invalid signal: ${sig}`);
        st.config.StopSignal = sig;
        return this.commitConfig(st, `STOPSIGNAL ${sig}`, write);
      }
      case 'shell': {
        if (!n.json) throw new InvalidArgumentError('SHELL requires the arguments to be in JSON form');
        st.config.Shell = n.json;
        return this.commitConfig(st, `SHELL [${n.json.join(' ')}]`, write);
      }
      case 'onbuild': {
        const inner = parseTrigger(n.args, esc);
        if (['onbuild', 'from', 'maintainer'].includes(inner.cmd))
          throw new InvalidArgumentError(`${inner.cmd.toUpperCase()} isn't allowed as an ONBUILD trigger`);
        st.config.OnBuild = [...(st.config.OnBuild ?? []), n.args];
        return this.commitConfig(st, `ONBUILD ${n.args}`, write);
      }
      case 'healthcheck':
        return this.healthcheck(st, n, write);
      case 'workdir':
        return this.workdir(st, word(n.args), write);
      case 'run':
        return this.run(st, n, write);
      case 'copy':
      case 'add':
        return this.copy(st, n, write);
      case 'from':
        throw new InvalidArgumentError('FROM is not allowed here');
    }
  }

  private async healthcheck(st: StageState, n: Node, write: (t: string) => void): Promise<void> {
    const flags = parseFlags(n, ['interval', 'timeout', 'start-period', 'start-interval', 'retries']);
    const words = n.args.trim().split(/\s+/);
    const kind = (words[0] ?? '').toUpperCase();
    let hc: Record<string, unknown>;
    if (kind === 'NONE') {
      if (words.length > 1 || flags.size) throw new InvalidArgumentError('HEALTHCHECK NONE takes no arguments');
      hc = { Test: ['NONE'] };
    } else if (kind === 'CMD') {
      const rest = n.args.trim().slice(3).trim();
      if (!rest) throw new InvalidArgumentError('Missing command after HEALTHCHECK CMD');
      const json =
        n.json ??
        (rest.startsWith('[')
          ? (() => {
              try {
                return JSON.parse(rest) as string[];
              } catch {
                return undefined;
              }
            })()
          : undefined);
      const test = json ? ['CMD', ...json] : ['CMD-SHELL', rest];
      hc = { Test: test };
      const dur = (k: string, key: string) => {
        const v = flags.get(k);
        if (v) {
          const ns = flagDuration(v, k);
          if (ns !== 0 && ns < 1e6) throw new InvalidArgumentError(`Interval "${k}" cannot be less than 1ms`);
          hc[key] = ns;
        }
      };
      dur('interval', 'Interval');
      dur('timeout', 'Timeout');
      dur('start-period', 'StartPeriod');
      dur('start-interval', 'StartInterval');
      if (flags.has('retries')) {
        const r = Number(flags.get('retries'));
        if (!Number.isInteger(r) || r < 0) throw new InvalidArgumentError('--retries must be at least 0');
        hc.Retries = r;
      }
    } else throw new InvalidArgumentError(`Unknown type "${words[0]}" in HEALTHCHECK (try CMD)`);
    st.config.Healthcheck = hc;
    const test = hc.Test as string[];
    const retries = (hc.Retries as number | undefined) ?? 0;
    const ch = retries < 32 || retries === 127 ? `'\\x${retries.toString(16).padStart(2, '0')}'` : `'${String.fromCharCode(retries)}'`;
    return this.commitConfig(
      st,
      `HEALTHCHECK &{${goList(test)} ${goQuote(goDuration((hc.Interval as number) ?? 0))} ${goQuote(goDuration((hc.Timeout as number) ?? 0))} ${goQuote(goDuration((hc.StartPeriod as number) ?? 0))} ${goQuote(goDuration((hc.StartInterval as number) ?? 0))} ${ch}}`,
      write,
    );
  }

  // ---- commits and the cache --------------------------------------------------

  private shell(st: StageState): string[] {
    return st.config.Shell?.length ? st.config.Shell : DEFAULT_SHELL;
  }

  /** A config-only step: an image with an empty layer (or the cached one). */
  private async commitConfig(st: StageState, comment: string, write: (t: string) => void): Promise<void> {
    const cc: ContainerConfig = { ...st.config, Cmd: [...this.shell(st), '#(nop) ', comment] };
    if (await this.probe(st, cc, write)) return;
    st.image = await createImage(this.images, {
      parent: st.image,
      config: { ...st.config, Image: st.image?.id ?? '' },
      containerConfig: { ...cc, Image: st.image?.id ?? '' },
      author: st.maintainer,
      createdBy: cc.Cmd!.join(' '),
    });
  }

  /** Use a cached child of the current image made with the same config, if there is one. */
  private async probe(st: StageState, cc: ContainerConfig, write: (t: string) => void): Promise<boolean> {
    if (this.o.noCache) return false;
    const hit = await this.cache.lookup(st.image, st.config, cc);
    if (!hit) return false;
    write(' ---> Using cache\n');
    this.holds.push(this.images.holdLayers(hit));
    st.image = hit;
    return true;
  }

  /** Prepare a writable snapshot on the current image, mounted; run `fn`; commit what changed. */
  private async withRootfs(st: StageState, fn: (root: string) => Promise<void>): Promise<Awaited<ReturnType<typeof commitSnapshot>>> {
    const sn = this.storage.snapshotter;
    const key = `build-${randomBytes(12).toString('hex')}`;
    const parent = st.image ? this.images.topChainId(st.image) : undefined;
    const release = this.images.holdSnapshot(key);
    try {
      await sn.prepare(key, parent);
      const root = await sn.mount(key);
      try {
        await fn(root);
      } finally {
        await sn.unmount(key);
      }
      return await commitSnapshot(this.storage, key, parent, true);
    } finally {
      await sn.remove(key).catch(() => {});
      release();
    }
  }

  private async workdir(st: StageState, dir: string, write: (t: string) => void): Promise<void> {
    const wd = posix.isAbsolute(dir) ? posix.normalize(dir) : posix.join('/', st.config.WorkingDir || '/', dir);
    st.config.WorkingDir = wd;
    const cc: ContainerConfig = { ...st.config, Cmd: [...this.shell(st), `#(nop) WORKDIR ${wd}`] };
    if (await this.probe(st, cc, write)) return;
    const layer = st.image
      ? await this.withRootfs(st, async (root) => {
          const tree = Tree.open(root);
          try {
            tree.release(tree.dir(wd, { create: true }).fd);
          } finally {
            tree.close();
          }
        })
      : undefined;
    st.image = await createImage(this.images, {
      parent: st.image,
      config: { ...st.config, Image: st.image?.id ?? '' },
      containerConfig: { ...cc, Image: st.image?.id ?? '' },
      author: st.maintainer,
      createdBy: cc.Cmd!.join(' '),
      layer,
    });
  }

  private async copy(st: StageState, n: Node, write: (t: string) => void): Promise<void> {
    const cmd = n.cmd.toUpperCase();
    const flags = parseFlags(n, n.cmd === 'copy' ? ['chown', 'chmod', 'from'] : ['chown', 'chmod']);
    const env = this.env(st);
    let words: string[];
    if (n.heredocs.length) {
      words = processWords(n.args, env, st.escape, this.usedArgs);
    } else if (n.json) words = n.json.map((w) => processWord(w, env, st.escape, this.usedArgs));
    else words = processWords(n.args, env, st.escape, this.usedArgs);
    if (words.length < 2)
      throw new InvalidArgumentError(`${cmd} requires at least two arguments, but only one was provided. Destination could not be determined.`);
    const dest = words[words.length - 1]!;
    const srcWords = words.slice(0, -1);
    const chown = flags.get('chown') ? processWord(flags.get('chown')!, env, st.escape) : undefined;
    let chmod: number | undefined;
    if (flags.has('chmod')) {
      const v = flags.get('chmod')!;
      if (!/^[0-7]{1,4}$/.test(v)) throw new InvalidArgumentError(`invalid chmod parameter: ${v}`);
      chmod = parseInt(v, 8);
    }
    let sources: CopySource[] = [];
    let hashes: string[] = [];
    const fromName = flags.get('from');
    let fromCleanup: (() => Promise<void>) | undefined;
    let extra: BuildContext | undefined;
    try {
      if (fromName) {
        const ref = this.stageRef(processWord(fromName, this.metaEnv(), st.escape), Number.MAX_SAFE_INTEGER);
        const img = ref !== undefined ? await this.stageImages.get(ref) : await this.resolveImage(fromName);
        if (!img) throw new InvalidArgumentError(`${cmd} failed: stage ${fromName} has no image`);
        const sn = this.storage.snapshotter;
        const key = `build-src-${randomBytes(12).toString('hex')}`;
        const release = this.images.holdSnapshot(key);
        let ctx: BuildContext | undefined;
        // The context's handle on the mount goes first, or the unmount finds it busy.
        fromCleanup = async () => {
          ctx?.close();
          await sn.remove(key).catch(() => {});
          release();
        };
        await sn.prepare(key, this.images.topChainId(img));
        ctx = BuildContext.open(await sn.mount(key));
        sources = contextSources(cmd, ctx, srcWords, !chown, fromName);
        hashes = await sourceHashes(sources);
      } else {
        const heredocNames = new Map(n.heredocs.map((h) => [h.name, h]));
        const ctxSrcs: string[] = [];
        // Heredocs and downloads are files of a context of their own, in the build's scratch directory.
        const extraDir = await mkdtemp(join(this.o.scratch, 'extra-'));
        extra = BuildContext.open(extraDir);
        for (const w of srcWords) {
          const hd = heredocNames.get(w.replace(/^<<-?/, '').replace(/^["']|["']$/g, ''));
          if (hd && w.startsWith('<<')) {
            const content = hd.expand ? processWord(hd.content.replace(/(["'\\])/g, '\\$1'), env, st.escape) : hd.content;
            await writeLoneFile(Readable.from([Buffer.from(content)]), extraDir, hd.name);
            sources.push({ orig: hd.name, entry: extra.get(hd.name)!, ctx: extra, keepOwner: false });
          } else if (n.cmd === 'add' && /^https?:\/\//.test(w)) {
            sources.push(await this.download(w, extra, extraDir));
          } else ctxSrcs.push(w);
        }
        if (ctxSrcs.length) sources.push(...contextSources(cmd, this.o.context, ctxSrcs, false));
        for (const s of sources) {
          if (n.cmd === 'add' && s.entry.type === 'file' && s.ctx === this.o.context && (await isArchive(s.ctx, s.entry))) s.extract = true;
        }
        hashes = await sourceHashes(sources);
      }
      const srcHash = hashes.length === 1 ? hashes[0]! : `multi:${createHashHex(hashes.join(','))}`;
      const chownComment = chown ? `--chown=${chown}` : '';
      const chmodComment = chmod !== undefined ? `--chmod=${flags.get('chmod')}` : '';
      const fromComment = fromName ? `--from=${fromName} ` : '';
      const comment = `${cmd} ${fromComment}${chownComment}${chmodComment}${chownComment || chmodComment ? ' ' : ''}${srcHash} in ${dest} `;
      const cc: ContainerConfig = { ...st.config, Cmd: [...this.shell(st), `#(nop) ${comment}`] };
      if (await this.probe(st, cc, write)) return;
      const layer = await this.withRootfs(st, (root) => performCopy(root, { dest, sources, chown, chmod, workdir: st.config.WorkingDir ?? '/', cmd }));
      st.image = await createImage(this.images, {
        parent: st.image,
        config: { ...st.config, Image: st.image?.id ?? '' },
        containerConfig: { ...cc, Image: st.image?.id ?? '' },
        author: st.maintainer,
        createdBy: cc.Cmd!.join(' '),
        layer,
      });
    } finally {
      extra?.close();
      await fromCleanup?.();
    }
  }

  /** ADD of a URL: the body streamed into `dir` (the directory of context `into`). */
  private async download(url: string, into: BuildContext, dir: string): Promise<CopySource> {
    let resp: Response;
    try {
      resp = await fetch(url, { signal: this.o.signal });
    } catch (e) {
      throw new InvalidArgumentError(`ADD failed: error downloading ${url}: ${messageOf(e)}`);
    }
    if (!resp.ok) throw new InvalidArgumentError(`ADD failed: failed to GET ${url} with status ${resp.status} ${resp.statusText}`);
    const lm = resp.headers.get('last-modified');
    const base = posix.basename(new URL(url).pathname);
    const name = base && base !== '.' && base !== '..' ? base : 'download';
    const body = resp.body ? Readable.fromWeb(resp.body as WebReadableStream<Uint8Array>) : Readable.from([]);
    await writeLoneFile(body, dir, name, { mode: 0o600, mtime: lm ? Math.floor(Date.parse(lm) / 1000) : 0 });
    return { orig: name, entry: into.get(name)!, ctx: into, keepOwner: false };
  }

  private async run(st: StageState, n: Node, write: (t: string) => void): Promise<void> {
    parseFlags(n, []);
    if (!st.image) throw new InvalidArgumentError('Please provide a source image with `from` prior to run');
    let argv: string[];
    if (n.json) argv = n.json;
    else {
      let script = n.args;
      if (n.heredocs.length) {
        const only = /^<<-?(["']?)([A-Za-z_][A-Za-z0-9_.-]*)\1$/.exec(n.args.trim());
        script = only ? n.heredocs[0]!.content : `${n.args}\n${n.heredocs.map((h) => `${h.content}${h.name}`).join('\n')}`;
      }
      argv = [...this.shell(st), script];
    }
    // Build args in effect: their values reach the command's environment, and the declared ones key the cache.
    const envKeys = new Set((st.config.Env ?? []).map(envKey));
    const argEnv: string[] = [];
    const prefix: string[] = [];
    for (const [k, v] of st.args) {
      if (v === undefined || envKeys.has(k)) continue;
      argEnv.push(`${k}=${v}`);
      prefix.push(`${k}=${v}`);
      this.usedArgs.add(k);
    }
    for (const k of PROXY_ARGS) {
      const v = this.o.buildArgs[k];
      if (v !== undefined && v !== null && !st.args.has(k) && !envKeys.has(k)) argEnv.push(`${k}=${v}`);
    }
    prefix.sort();
    const saved = prefix.length ? [`|${prefix.length}`, ...prefix, ...argv] : argv;
    const cc: ContainerConfig = { ...st.config, Cmd: saved };
    if (await this.probe(st, cc, write)) return;
    const req = {
      ...st.config,
      Image: st.image.id,
      Cmd: argv,
      Entrypoint: [''],
      Env: [...(st.config.Env ?? []), ...argEnv],
      Healthcheck: { Test: ['NONE'] },
      OnBuild: null,
      HostConfig: {
        NetworkMode: this.o.networkMode || 'default',
        ExtraHosts: this.o.extraHosts.length ? this.o.extraHosts : null,
      },
    };
    const { Id: id } = await this.containers.create(undefined, req as never, { buildStep: true });
    write(` ---> Running in ${id.slice(0, 12)}\n`);
    const c = this.containers.get(id);
    const exited = this.containers.waitFor(id, 'next-exit');
    let code: number;
    // A cancelled build kills its running step; the catch below removes the container.
    const cancel = () => {
      void this.containers.kill(id, 'SIGKILL').catch(() => {});
    };
    this.o.signal?.addEventListener('abort', cancel);
    try {
      this.checkCancelled();
      const stopped = exited.then(() => {});
      const logs = readLogs(this.containers.logPath(c), { follow: true, stopped, partial: true });
      await this.containers.start(id);
      if (this.o.signal?.aborted) cancel();
      // The classic builder colours what a step writes to stderr, one write at a time.
      for await (const r of logs) write(r.stream === 'stderr' ? `\x1b[91m${r.line.toString('utf8')}\x1b[0m` : r.line.toString('utf8'));
      code = await exited;
      this.checkCancelled();
    } catch (err) {
      await this.containers.remove(id, { force: true }).catch(() => {});
      throw err;
    } finally {
      this.o.signal?.removeEventListener('abort', cancel);
    }
    if (code !== 0) {
      if (this.o.forceRm) {
        await this.containers.remove(id, { force: true }).catch(() => {});
        write(`Removing intermediate container ${id.slice(0, 12)}\n`);
      } else {
        await this.containers.keepBuildStep(id);
        this.failedContainers.push(id);
      }
      throw new BuildError(`The command '${argv.join(' ')}' returned a non-zero code: ${code}`, code);
    }
    const parent = this.images.topChainId(st.image);
    let layer;
    try {
      layer = await commitSnapshot(this.storage, id, parent, true);
    } finally {
      if (this.o.rm || this.o.forceRm) {
        await this.containers.remove(id, { force: true });
        write(`Removing intermediate container ${id.slice(0, 12)}\n`);
      } else await this.containers.keepBuildStep(id);
    }
    st.image = await createImage(this.images, {
      parent: st.image,
      config: { ...st.config, Image: st.image.id },
      containerConfig: { ...cc, Image: st.image.id },
      container: id,
      author: st.maintainer,
      createdBy: saved.join(' '),
      layer,
    });
  }
}

/** The cache key parts of a copy's sources: what each is and the hash of its content. */
async function sourceHashes(sources: CopySource[]): Promise<string[]> {
  const out: string[] = [];
  for (const s of sources) out.push(`${s.entry.type === 'directory' ? 'dir' : 'file'}:${await s.ctx.hash(s.entry.path)}`);
  return out;
}

function createHashHex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
