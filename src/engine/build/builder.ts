/**
 * The classic builder: a Dockerfile evaluated instruction by instruction,
 * each step an image on top of the previous one (config-only steps as
 * empty layers, RUN as a container whose changes become a layer, COPY/ADD
 * and WORKDIR as layers written directly), each step looked up in the
 * build cache first. Stages the target needs are built, independent ones
 * at the same time; their output is shown in Dockerfile order.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile, lstat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { tmpdir } from 'node:os';
import { type Digest, shortId } from '../../core/digest.js';
import { BerthError, InvalidArgumentError, NotFoundError, messageOf } from '../../core/errors.js';
import { run } from '../../core/proc.js';
import type { Reference } from '../../core/reference.js';
import { packEntries } from '../../archive/pack-entries.js';
import { parseDockerfile, parseJsonArray, EXPANDS, type Instruction } from '../../build/parser.js';
import { expandWord, expandWords, keyValuePairs, rawWords, type Vars } from '../../build/shell-lex.js';
import type { ContainerService } from '../containers/service.js';
import type { ImageService } from '../images/service.js';
import type { ContainerConfig, ImageConfig, ImageRecord } from '../images/types.js';
import { diffSource } from './commit.js';
import { layerTar } from '../../archive/diff.js';
import { checksum, CopyError, parseChown, planCopy, resolveSource, walkSource, type Source, type Walked } from './copy.js';
import { storeLayer, topChain, writeImage, type StoredLayer } from './image-writer.js';

export const PROXY_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

export interface BuildOptions {
  contextDir: string;
  dockerfile: string;
  tags: Reference[];
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  target?: string;
  noCache?: boolean;
  pull?: boolean;
  cacheFrom?: string[];
  networkMode?: string;
  extraHosts?: string[];
  /** Remove intermediate containers after a successful step (default true); forceRm: after a failed one too. */
  rm?: boolean;
  forceRm?: boolean;
  /** Context-relative paths excluded by .dockerignore. */
  excluded?: (rel: string) => boolean;
  /** Pull a missing base image. */
  pull_image?: (ref: string, out: (line: string) => void) => Promise<void>;
}

export interface Services { images: ImageService; containers: ContainerService }

interface Stage {
  index: number;
  name?: string;
  from: Instruction;
  body: Instruction[];
  /** Step number of its FROM. */
  firstStep: number;
}

interface State {
  rec?: ImageRecord;
  imgCfg?: ImageConfig;
  config: ContainerConfig;
  /** ARGs declared in this stage with their values. */
  args: Map<string, string | undefined>;
  cmdSet: boolean;
  maintainer?: string;
}

/** Output of one stage, shown when the stages before it are done. */
class OrderedOut {
  private buf: string[][] = [];
  private current = 0;
  private done: boolean[] = [];
  constructor(private readonly write: (s: string) => void, n: number) { for (let i = 0; i < n; i++) { this.buf.push([]); this.done.push(false); } }
  line(stage: number, s: string): void {
    if (stage === this.current) this.write(s); else this.buf[stage].push(s);
  }
  finish(stage: number): void {
    this.done[stage] = true;
    while (this.current < this.done.length && this.done[this.current]) {
      this.current++;
      if (this.current < this.buf.length) { for (const s of this.buf[this.current]) this.write(s); this.buf[this.current] = []; }
    }
  }
}

export class BuildError extends BerthError {
  constructor(msg: string, readonly code = 1) { super(msg, 400); }
}

function envMap(env: string[] | null | undefined): Vars {
  const m = new Map<string, string>();
  for (const e of env ?? []) { const i = e.indexOf('='); if (i > 0) m.set(e.slice(0, i), e.slice(i + 1)); else m.set(e, ''); }
  return m;
}

function setEnv(cfg: ContainerConfig, k: string, v: string): void {
  const env = (cfg.Env ?? []).filter((e) => e.split('=')[0] !== k);
  env.push(`${k}=${v}`);
  cfg.Env = env;
}

function cacheKeyOf(parts: string[]): string {
  return 'sha256:' + createHash('sha256').update(parts.join('\0')).digest('hex');
}

export class Builder {
  private stages: Stage[] = [];
  private globalArgs = new Map<string, string | undefined>();
  private usedArgs = new Set<string>();
  private stageResults = new Map<number, Promise<ImageRecord | undefined>>();
  private totalSteps = 0;
  private out!: OrderedOut;
  private escape = '\\';
  private containersMade: string[] = [];

  constructor(private readonly svc: Services, private readonly o: BuildOptions, private readonly write: (msg: Record<string, unknown>) => void) {}

  private stream(stage: number, s: string): void { this.out.line(stage, s); }

  async build(): Promise<Digest> {
    const df = parseDockerfile(this.o.dockerfile);
    this.escape = df.escape;
    if (df.instructions.length === 0) throw new BuildError('the Dockerfile (Dockerfile) cannot be empty');
    // ARGs before the first FROM: usable in FROM lines only.
    let i = 0;
    const metaVars = new Map<string, string>();
    for (; i < df.instructions.length && df.instructions[i].cmd === 'arg'; i++) {
      for (const [k, v] of keyValuePairs('ARG', df.instructions[i].rest, metaVars, this.escape, true)) {
        const val = k in this.o.buildArgs && this.o.buildArgs[k] !== null ? this.o.buildArgs[k]! : v;
        this.globalArgs.set(k, val);
        if (val !== undefined) metaVars.set(k, val);
        if (k in this.o.buildArgs) this.usedArgs.add(k);
      }
    }
    if (i >= df.instructions.length || df.instructions[i].cmd !== 'from') {
      const bad = df.instructions[i];
      throw new BuildError(bad ? `dockerfile parse error on line ${bad.line}: no build stage in current context` : 'No image was generated. Is your Dockerfile empty?');
    }
    for (; i < df.instructions.length; i++) {
      const ins = df.instructions[i];
      if (ins.cmd === 'from') {
        const words = expandWords(ins.rest, metaVars, this.escape);
        if (words.length !== 1 && !(words.length === 3 && words[1].toLowerCase() === 'as')) throw new BuildError(`dockerfile parse error on line ${ins.line}: FROM requires either one or three arguments`);
        const name = words.length === 3 ? words[2].toLowerCase() : undefined;
        if (name && this.stages.some((s) => s.name === name)) throw new BuildError(`dockerfile parse error on line ${ins.line}: duplicate name ${name}`);
        this.stages.push({ index: this.stages.length, name, from: ins, body: [], firstStep: 0 });
      } else this.stages[this.stages.length - 1].body.push(ins);
    }
    let last = this.stages.length - 1;
    if (this.o.target) {
      const t = this.stages.find((s) => s.name === this.o.target!.toLowerCase());
      if (!t) throw new BuildError(`failed to reach build target ${this.o.target} in Dockerfile`);
      last = t.index;
    }
    // Only the stages the target depends on.
    const needed = new Set<number>();
    const visit = (n: number) => {
      if (needed.has(n)) return;
      needed.add(n);
      for (const d of this.depsOf(this.stages[n], metaVars)) visit(d);
    };
    visit(last);
    const order = [...needed].sort((a, b) => a - b);
    let step = 1;
    for (const n of order) { this.stages[n].firstStep = step; step += 1 + this.stages[n].body.length; }
    this.totalSteps = step - 1;
    this.out = new OrderedOut((s) => this.write({ stream: s }), this.stages.length);
    for (let k = 0; k < this.stages.length; k++) if (!needed.has(k)) this.out.finish(k);
    for (const n of order) this.stageResults.set(n, this.runStage(this.stages[n], metaVars));
    let final: ImageRecord | undefined;
    try {
      const results = await Promise.allSettled(order.map((n) => this.stageResults.get(n)!));
      const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      if (failed) throw failed.reason;
      final = (results[order.indexOf(last)] as PromiseFulfilledResult<ImageRecord | undefined>).value;
    } finally {
      await this.cleanup();
    }
    if (!final) throw new BuildError('No image was generated. Is your Dockerfile empty?');
    const unused = Object.keys(this.o.buildArgs).filter((k) => !this.usedArgs.has(k) && !PROXY_ARGS.includes(k));
    if (unused.length) this.write({ stream: `[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n` });
    return final.id;
  }

  private async cleanup(): Promise<void> {
    for (const id of this.containersMade) await this.svc.containers.remove(id, { force: true }).catch(() => {});
  }

  /** Stages a stage waits for: its FROM (a stage name) and COPY --from. */
  private depsOf(s: Stage, meta: Vars): number[] {
    const deps: number[] = [];
    const ref = (name: string): number | undefined => {
      if (/^\d+$/.test(name) && Number(name) < s.index) return Number(name);
      const hit = this.stages.find((x) => x.name === name.toLowerCase() && x.index < s.index);
      return hit?.index;
    };
    const base = expandWords(s.from.rest, meta, this.escape)[0];
    const b = ref(base);
    if (b !== undefined) deps.push(b);
    for (const ins of s.body) {
      if (ins.cmd !== 'copy' && ins.cmd !== 'add') continue;
      for (const f of ins.flags) if (f.startsWith('--from=')) { const d = ref(f.slice(7)); if (d !== undefined) deps.push(d); }
    }
    return deps;
  }

  private stageRef(name: string, before: number): number | undefined {
    if (/^\d+$/.test(name)) return Number(name) < before ? Number(name) : undefined;
    return this.stages.find((x) => x.name === name.toLowerCase() && x.index < before)?.index;
  }

  private async runStage(s: Stage, meta: Vars): Promise<ImageRecord | undefined> {
    // Wait for the stages this one needs first (their failures fail the build elsewhere).
    const deps = this.depsOf(s, meta);
    for (const d of deps) await this.stageResults.get(d);
    let step = s.firstStep;
    try {
      const st = await this.from(s, meta, step++);
      for (const ins of s.body) await this.dispatch(s, st, ins, step++);
      this.out.finish(s.index);
      return st.rec;
    } catch (e) {
      this.out.finish(s.index);
      throw e;
    }
  }

  private header(s: Stage, step: number, ins: Instruction): void {
    this.stream(s.index, `Step ${step}/${this.totalSteps} : ${ins.original}\n`);
  }

  private async from(s: Stage, meta: Vars, step: number): Promise<State> {
    this.header(s, step, s.from);
    const words = expandWords(s.from.rest, meta, this.escape);
    const base = words[0];
    const st: State = { config: {}, args: new Map(), cmdSet: false };
    const dep = this.stageRef(base, s.index);
    if (dep !== undefined) {
      const rec = await this.stageResults.get(dep)!;
      st.rec = rec;
    } else if (base.toLowerCase() !== 'scratch') {
      let rec = this.svc.images.tryResolve(base);
      if ((!rec || this.o.pull) && this.o.pull_image) {
        try { await this.o.pull_image(base, (l) => this.stream(s.index, l)); } catch (e) { if (!rec) throw e; }
        rec = this.svc.images.tryResolve(base);
      }
      if (!rec) throw new NotFoundError(`pull access denied for ${base}, repository does not exist or may require 'docker login'`);
      st.rec = rec;
    }
    if (st.rec) {
      st.imgCfg = await this.svc.images.config(st.rec.id);
      st.config = structuredClone(st.imgCfg.config ?? {});
      this.stream(s.index, ` ---> ${shortId(st.rec.id)}\n`);
    } else {
      st.config = { Env: [`PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`] };
      this.stream(s.index, ` ---> \n`);
    }
    // ONBUILD triggers of the base run now, then are cleared.
    const triggers = st.config.OnBuild ?? [];
    st.config.OnBuild = null;
    if (triggers.length) {
      this.stream(s.index, `# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
      for (const t of triggers) {
        const parsed = parseDockerfile(t).instructions[0];
        if (!parsed) continue;
        if (['onbuild', 'from', 'maintainer'].includes(parsed.cmd)) throw new BuildError(`${parsed.cmd.toUpperCase()} isn't allowed as an ONBUILD trigger`);
        await this.dispatch(s, st, parsed, 0, true);
      }
    }
    return st;
  }

  /** Variables for substitution: ENV beats ARG. */
  private vars(st: State): Vars {
    const m = new Map<string, string>();
    for (const [k, v] of st.args) if (v !== undefined) m.set(k, v);
    for (const [k, v] of envMap(st.config.Env)) m.set(k, v);
    return m;
  }

  private flag(ins: Instruction, name: string, st?: State): string | undefined {
    const f = ins.flags.find((x) => x.startsWith(`--${name}=`) || x === `--${name}`);
    if (f === undefined) return undefined;
    const v = f.includes('=') ? f.slice(f.indexOf('=') + 1).replace(/^"|"$/g, '') : 'true';
    return st ? expandWord(v, this.vars(st), this.escape) : v;
  }

  private checkFlags(ins: Instruction, allowed: string[]): void {
    for (const f of ins.flags) {
      const n = f.slice(2).split('=')[0];
      if (!allowed.includes(n)) throw new BuildError(`dockerfile parse error on line ${ins.line}: Unknown flag: ${n}`);
    }
  }

  private shellOf(st: State): string[] { return st.config.Shell?.length ? st.config.Shell : ['/bin/sh', '-c']; }

  private async dispatch(s: Stage, st: State, ins: Instruction, step: number, trigger = false): Promise<void> {
    if (!trigger) this.header(s, step, ins);
    const vars = this.vars(st);
    const exp = (w: string) => (EXPANDS.has(ins.cmd) ? expandWord(w, vars, this.escape) : w);
    const words = () => (EXPANDS.has(ins.cmd) ? expandWords(ins.rest, vars, this.escape) : rawWords(ins.rest, this.escape));
    const c = st.config;
    const nop = (text: string) => this.commitConfig(s, st, `/bin/sh -c #(nop) ${text}`);
    const execOrShell = (): string[] => ins.json ?? [...this.shellOf(st), ins.rest];
    switch (ins.cmd) {
      case 'run': return this.runStep(s, st, ins);
      case 'copy': case 'add': return this.copyStep(s, st, ins);
      case 'workdir': {
        this.checkFlags(ins, []);
        const w = exp(ins.rest);
        c.WorkingDir = posix.isAbsolute(w) ? posix.normalize(w) : posix.join(c.WorkingDir || '/', w);
        return this.workdirStep(s, st, c.WorkingDir);
      }
      case 'cmd':
        c.Cmd = execOrShell();
        st.cmdSet = true;
        return nop(`CMD ${JSON.stringify(c.Cmd)}`.replace(/^CMD/, ' CMD'));
      case 'entrypoint':
        c.Entrypoint = execOrShell();
        if (!st.cmdSet) c.Cmd = null;
        return nop(` ENTRYPOINT ${JSON.stringify(c.Entrypoint)}`);
      case 'env': {
        const pairs = keyValuePairs('ENV', ins.rest, vars, this.escape);
        for (const [k, v] of pairs) setEnv(c, k, v ?? '');
        return nop(` ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
      }
      case 'arg': {
        const pairs = keyValuePairs('ARG', ins.rest, vars, this.escape, true);
        for (const [k, def] of pairs) {
          let v = def;
          if (def === undefined && this.globalArgs.has(k)) v = this.globalArgs.get(k);
          if (k in this.o.buildArgs) { this.usedArgs.add(k); if (this.o.buildArgs[k] !== null) v = this.o.buildArgs[k]!; }
          st.args.set(k, v);
        }
        return nop(`ARG ${pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join(' ')}`);
      }
      case 'label': {
        const pairs = keyValuePairs('LABEL', ins.rest, vars, this.escape);
        c.Labels = { ...(c.Labels ?? {}) };
        for (const [k, v] of pairs) c.Labels[k] = v ?? '';
        return nop(`LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
      }
      case 'maintainer':
        st.maintainer = ins.rest;
        return nop(`MAINTAINER ${ins.rest}`);
      case 'expose': {
        const ports = words();
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of ports) {
          const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
          if (!m) throw new BuildError(`Invalid containerPort: ${p}`);
          for (let n = Number(m[1]); n <= Number(m[2] ?? m[1]); n++) c.ExposedPorts[`${n}/${(m[3] ?? 'tcp').toLowerCase()}`] = {};
        }
        return nop(`EXPOSE ${ports.join(' ')}`);
      }
      case 'volume': {
        const vols = ins.json ? ins.json.map(exp) : words();
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const v of vols) { if (!v.trim()) throw new BuildError('VOLUME specified can not be an empty string'); c.Volumes[v] = {}; }
        return nop(`VOLUME ${JSON.stringify(vols)}`);
      }
      case 'user':
        c.User = exp(ins.rest);
        return nop(`USER ${c.User}`);
      case 'stopsignal':
        c.StopSignal = exp(ins.rest);
        return nop(`STOPSIGNAL ${c.StopSignal}`);
      case 'shell':
        if (!ins.json) throw new BuildError('SHELL requires the arguments to be in JSON form');
        c.Shell = ins.json;
        return nop(`SHELL ${JSON.stringify(ins.json)}`);
      case 'onbuild': {
        const t = ins.rest.trim();
        const first = t.split(/\s+/)[0].toUpperCase();
        if (['ONBUILD', 'FROM', 'MAINTAINER'].includes(first)) throw new BuildError(`${first} isn't allowed as an ONBUILD trigger`);
        c.OnBuild = [...(c.OnBuild ?? []), t];
        return nop(`ONBUILD ${t}`);
      }
      case 'healthcheck': {
        this.checkFlags(ins, ['interval', 'timeout', 'start-period', 'start-interval', 'retries']);
        const rest = ins.rest.trim();
        const kw = rest.split(/\s+/)[0]?.toUpperCase();
        if (kw === 'NONE') { c.Healthcheck = { Test: ['NONE'] }; return nop(`HEALTHCHECK &{["NONE"] "0s" "0s" "0s" "0s" '\\x00'}`); }
        if (kw !== 'CMD') throw new BuildError(`Unknown type "${kw}" in HEALTHCHECK (try CMD)`);
        const cmdText = rest.slice(3).trim();
        const json = parseJsonArray(cmdText);
        const hc: Record<string, unknown> = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', cmdText] };
        const dur = (n: string, key: string) => {
          const v = this.flag(ins, n);
          if (v === undefined) return;
          const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v);
          if (!m) throw new BuildError(`time: invalid duration "${v}"`);
          hc[key] = Math.round(Number(m[1]) * { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[m[2] as 'ms'] );
        };
        dur('interval', 'Interval'); dur('timeout', 'Timeout'); dur('start-period', 'StartPeriod'); dur('start-interval', 'StartInterval');
        const r = this.flag(ins, 'retries');
        if (r !== undefined) hc.Retries = Number(r);
        c.Healthcheck = hc;
        return nop(`HEALTHCHECK &{${JSON.stringify(hc.Test)}}`);
      }
      default:
        throw new BuildError(`dockerfile parse error on line ${ins.line}: unknown instruction: ${(ins.cmd as string).toUpperCase()}`);
    }
  }

  // ---- cache ----------------------------------------------------------------

  private allowedCacheSources?: Set<string>;

  private cacheLookup(parent: ImageRecord | undefined, key: string): ImageRecord | undefined {
    if (this.o.noCache || !parent) return undefined;
    if (this.o.cacheFrom?.length && !this.allowedCacheSources) {
      this.allowedCacheSources = new Set();
      for (const n of this.o.cacheFrom) {
        let r = this.svc.images.tryResolve(n);
        while (r) { this.allowedCacheSources.add(r.id); r = r.parent ? this.svc.images.store.get(r.parent) : undefined; }
      }
    }
    const hits = this.svc.images.store.list().filter((r) => r.parent === parent.id && r.buildCacheKey === key
      && (!this.allowedCacheSources || this.allowedCacheSources.has(r.id) || !this.o.cacheFrom?.length));
    hits.sort((a, b) => b.addedAt.localeCompare(a.addedAt));
    return hits[0];
  }

  private async useCache(s: Stage, st: State, key: string): Promise<boolean> {
    const hit = this.cacheLookup(st.rec, key);
    if (!hit) return false;
    this.stream(s.index, ' ---> Using cache\n');
    await this.advance(s, st, hit);
    return true;
  }

  private async advance(s: Stage, st: State, rec: ImageRecord): Promise<void> {
    st.rec = rec;
    st.imgCfg = await this.svc.images.config(rec.id);
    this.stream(s.index, ` ---> ${shortId(rec.id)}\n`);
  }

  private configKey(st: State): string {
    return JSON.stringify(st.config);
  }

  /** A config-only step: a new image with an empty layer. */
  private async commitConfig(s: Stage, st: State, createdBy: string): Promise<void> {
    const key = cacheKeyOf([st.rec?.id ?? 'scratch', createdBy, this.configKey(st), st.maintainer ?? '']);
    if (await this.useCache(s, st, key)) return;
    if (!st.rec && !st.imgCfg) {
      // scratch: config-only steps still make an image (no layers).
    }
    const id = await writeImage(this.svc.images, {
      parent: st.rec, parentConfig: st.imgCfg, config: structuredClone(st.config),
      history: { created_by: createdBy }, author: st.maintainer, cacheKey: key,
    });
    await this.advance(s, st, this.svc.images.resolve(id));
  }

  private async commitLayer(s: Stage, st: State, createdBy: string, layer: StoredLayer, key: string, container?: string): Promise<void> {
    const id = await writeImage(this.svc.images, {
      parent: st.rec, parentConfig: st.imgCfg, config: structuredClone(st.config), layer,
      history: { created_by: createdBy }, author: st.maintainer, cacheKey: key, container,
    });
    await this.advance(s, st, this.svc.images.resolve(id));
  }

  // ---- RUN --------------------------------------------------------------------

  private buildArgEnv(st: State): string[] {
    const env = envMap(st.config.Env);
    const out: string[] = [];
    for (const [k, v] of st.args) if (v !== undefined && !env.has(k)) out.push(`${k}=${v}`);
    for (const k of PROXY_ARGS) {
      const v = this.o.buildArgs[k];
      if (typeof v === 'string' && !st.args.has(k) && !env.has(k)) out.push(`${k}=${v}`);
    }
    return out.sort();
  }

  private async runStep(s: Stage, st: State, ins: Instruction): Promise<void> {
    this.checkFlags(ins, []);
    let cmd: string[];
    if (ins.json) cmd = ins.json;
    else {
      let script = ins.rest;
      if (ins.heredocs.length === 1 && /^<<-?["']?[A-Za-z_][A-Za-z0-9_]*["']?$/.test(ins.rest.trim())) {
        // `RUN <<EOF`: the heredoc is the script.
        script = ins.heredocs[0].content;
      } else {
        // Heredocs go to the shell as written; it reads them itself.
        for (const h of ins.heredocs) script += `\n${h.content}${h.name}`;
      }
      cmd = [...this.shellOf(st), script];
    }
    const argEnv = this.buildArgEnv(st);
    // Proxy args stay out of history and the cache key, as Docker keeps them.
    const shown = argEnv.filter((e) => !PROXY_ARGS.includes(e.split('=')[0]));
    const createdBy = (shown.length ? `|${shown.length} ${shown.join(' ')} ` : '') + cmd.join(' ');
    const key = cacheKeyOf([st.rec?.id ?? 'scratch', 'RUN', createdBy, this.configKey(st)]);
    if (await this.useCache(s, st, key)) return;
    if (!st.rec) throw new BuildError(`failed to create RUN container: no image to run on (FROM scratch)`);
    const c = st.config;
    const created = await this.svc.containers.create(undefined, {
      Image: st.rec.id,
      Cmd: cmd,
      Entrypoint: [''],
      Env: [...(c.Env ?? []), ...argEnv],
      User: c.User ?? '',
      WorkingDir: c.WorkingDir ?? '',
      Labels: {},
      HostConfig: {
        NetworkMode: this.o.networkMode || 'default',
        ExtraHosts: this.o.extraHosts ?? [],
      },
    });
    const id = created.Id;
    this.containersMade.push(id);
    this.stream(s.index, ` ---> Running in ${id.slice(0, 12)}\n`);
    const svc = this.svc.containers;
    const cont = svc.get(id);
    const { attachOutput } = await import('../containers/streams.js');
    const exited = svc.waitFor(id, 'next-exit');
    const logs = attachOutput(svc, cont, { stream: true, stdout: true, stderr: true });
    const pump = (async () => { for await (const r of logs) this.stream(s.index, r.line.toString()); })();
    await svc.start(id);
    const code = await exited;
    await pump.catch(() => {});
    if (code !== 0) {
      if (this.o.forceRm !== false) await this.removeContainer(id);
      throw new BuildError(`The command '${cmd.join(' ')}' returned a non-zero code: ${code}`, code);
    }
    const layer = await storeLayer(this.svc.images, await layerTar(diffSource(svc, cont)), topChain(st.rec));
    if (this.o.rm !== false) {
      this.stream(s.index, `Removing intermediate container ${id.slice(0, 12)}\n`);
    }
    await this.commitLayer(s, st, createdBy, layer, key, id);
    if (this.o.rm !== false) await this.removeContainer(id);
  }

  private async removeContainer(id: string): Promise<void> {
    await this.svc.containers.remove(id, { force: true }).catch(() => {});
    this.containersMade = this.containersMade.filter((x) => x !== id);
  }

  // ---- the image's files --------------------------------------------------------

  /** Run `fn` with a read-only view of an image's tree. */
  private async withRootfs<T>(rec: ImageRecord | undefined, fn: (root: string | undefined) => Promise<T>): Promise<T> {
    const top = topChain(rec);
    if (!top) return fn(undefined);
    const snap = this.svc.images.snapshotter;
    if (snap.driver === 'vfs') return fn(snap.layerDiffPath(top));
    const key = 'build-' + createHash('sha256').update(top + Math.random()).digest('hex').slice(0, 24);
    const release = this.svc.images.leases.hold([top]);
    try {
      await snap.prepare(key, top);
      const root = await snap.mount(key);
      return await fn(root);
    } finally {
      await snap.remove(key).catch(() => {});
      release();
    }
  }

  private lookupIn(root: string | undefined): (p: string) => Promise<Stats | null> {
    return async (p) => {
      if (!root) return null;
      // Follow the image's own symlinks only inside its root.
      try { return await stat(join(root, p)); } catch { try { return await lstat(join(root, p)); } catch { return null; } }
    };
  }

  private async workdirStep(s: Stage, st: State, dir: string): Promise<void> {
    const createdBy = `/bin/sh -c #(nop) WORKDIR ${dir}`;
    const key = cacheKeyOf([st.rec?.id ?? 'scratch', createdBy, this.configKey(st)]);
    if (await this.useCache(s, st, key)) return;
    const entries = await this.withRootfs(st.rec, async (root) => planCopy([], { dest: dir, destIsDir: true, lookup: this.lookupIn(root) }).then(async (e) => {
      // planCopy makes parents only for sources: add the directory chain here.
      const look = this.lookupIn(root);
      const parts = dir.split('/').filter(Boolean);
      const out = [...e];
      for (let k = 1; k <= parts.length; k++) {
        const d = parts.slice(0, k).join('/');
        if (!(await look('/' + d))) out.push({ name: d, type: 'directory' as const, mode: 0o755, uid: 0, gid: 0, mtime: new Date() });
      }
      return out;
    }));
    const layer = await storeLayer(this.svc.images, packEntries(entries), topChain(st.rec));
    await this.commitLayer(s, st, createdBy, layer, key);
  }

  // ---- COPY / ADD ---------------------------------------------------------------

  private async copyStep(s: Stage, st: State, ins: Instruction): Promise<void> {
    const instr = ins.cmd.toUpperCase();
    this.checkFlags(ins, ins.cmd === 'add' ? ['chown', 'chmod', 'from', 'checksum', 'keep-git-dir', 'link'] : ['chown', 'chmod', 'from', 'link', 'parents', 'exclude']);
    const vars = this.vars(st);
    const fromFlag = this.flag(ins, 'from', st);
    if (fromFlag && ins.cmd === 'add') throw new BuildError('ADD does not support the --from option');
    const chown = this.flag(ins, 'chown', st);
    const chmodFlag = this.flag(ins, 'chmod', st);
    let chmod: number | undefined;
    if (chmodFlag !== undefined) {
      if (!/^[0-7]{3,4}$/.test(chmodFlag)) throw new BuildError(`invalid chmod parameter: ${chmodFlag}`);
      chmod = parseInt(chmodFlag, 8);
    }
    let args: string[] = ins.json ? ins.json.map((w) => expandWord(w, vars, this.escape)) : expandWords(ins.rest, vars, this.escape);
    const tmp = await mkdtemp(join(tmpdir(), 'berth-copy-'));
    try {
      // Heredocs become files named after their delimiter.
      const heredocNames = new Set<string>();
      for (const h of ins.heredocs) {
        await writeFile(join(tmp, h.name), h.expand ? expandWord(h.content.replace(/"/g, '\\"'), vars, this.escape) : h.content, { mode: 0o644 });
        heredocNames.add(h.name);
      }
      args = args.map((a) => { const m = /^<<-?["']?([A-Za-z_][A-Za-z0-9_]*)["']?$/.exec(a); return m ? `<<${m[1]}` : a; });
      if (args.length < 2) throw new BuildError(`${instr} requires at least two arguments, but only one was provided. Destination could not be determined.`);
      const destRaw = args[args.length - 1];
      const srcs = args.slice(0, -1);
      const dest = posix.isAbsolute(destRaw) ? destRaw : posix.join(st.config.WorkingDir || '/', destRaw);
      const destIsDir = destRaw.endsWith('/') || destRaw === '.' || destRaw.endsWith('/.');

      // Where sources come from: the context, another stage or image, a URL, a heredoc.
      let fromRec: ImageRecord | undefined;
      if (fromFlag) {
        const dep = this.stageRef(fromFlag, s.index);
        if (dep !== undefined) fromRec = await this.stageResults.get(dep);
        else {
          fromRec = this.svc.images.tryResolve(fromFlag);
          if (!fromRec && this.o.pull_image) { await this.o.pull_image(fromFlag, (l) => this.stream(s.index, l)); fromRec = this.svc.images.tryResolve(fromFlag); }
          if (!fromRec) throw new BuildError(`invalid from flag value ${fromFlag}: pull access denied for ${fromFlag}, repository does not exist or may require 'docker login'`);
        }
      }
      const resolved: Array<{ src: Source; items: Walked[]; keepOwners?: boolean }> = [];
      const collect = async (root: string, excluded?: (rel: string) => boolean) => {
        for (const p of srcs) {
          if (heredocNames.has(p.replace(/^<</, '')) && p.startsWith('<<')) {
            const name = p.slice(2);
            const src: Source = { name, abs: join(tmp, name), st: await lstat(join(tmp, name)) };
            resolved.push({ src, items: await walkSource(src) });
            continue;
          }
          if (ins.cmd === 'add' && /^https?:\/\//.test(p)) { resolved.push(await this.fetchUrl(p, tmp)); continue; }
          const found = await resolveSource(root, p, instr, excluded);
          if (found.length === 0) throw new CopyError(`${instr} failed: no source files were specified`);
          for (const src of found) {
            if (ins.cmd === 'add' && src.st.isFile() && await isArchive(src.abs)) {
              const dir = await mkdtemp(join(tmp, 'x-'));
              const r = await run('tar', ['-x', '-f', src.abs, '-C', dir]);
              if (r.code !== 0) throw new BuildError(`failed to extract ${p}: ${r.stderr.trim()}`);
              const xs: Source = { name: src.name, abs: dir, st: await stat(dir) };
              resolved.push({ src: xs, items: await walkSource(xs), keepOwners: true });
              continue;
            }
            resolved.push({ src, items: await walkSource(src, fromFlag ? undefined : excluded) });
          }
        }
      };
      const finish = async (): Promise<void> => {
      if (resolved.length > 1 && !destRaw.endsWith('/')) {
        throw new BuildError(`When using ${instr} with more than one source file, the destination must be a directory and end with a /`);
      }
      const sum = await checksum(resolved);
      const createdBy = `/bin/sh -c #(nop) ${instr} ${ins.flags.filter((f) => !f.startsWith('--from')).map((f) => f + ' ').join('')}${sum} in ${destRaw} `;
      const key = cacheKeyOf([st.rec?.id ?? 'scratch', createdBy, fromRec?.id ?? '', this.configKey(st)]);
      if (await this.useCache(s, st, key)) return;
      const entries = await this.withRootfs(st.rec, async (root) => {
        let owner;
        if (chown) {
          const rd = async (f: string) => (root ? readFile(join(root, f), 'utf8').catch(() => '') : '');
          owner = parseChown(chown, await rd('etc/passwd'), await rd('etc/group'));
        }
        const out = [];
        for (const r of resolved) out.push(...await planCopy([r], { dest, destIsDir: destIsDir || resolved.length > 1, lookup: this.lookupIn(root), owner, chmod, keepOwners: r.keepOwners }));
        return out;
      });
      const layer = await storeLayer(this.svc.images, packEntries(entries), topChain(st.rec));
      await this.commitLayer(s, st, createdBy, layer, key);
      };
      // Files of another stage or image are read while its tree is mounted.
      if (fromRec) await this.withRootfs(fromRec, async (root) => { await collect(root ?? tmp); await finish(); });
      else { await collect(this.o.contextDir, this.o.excluded); await finish(); }
    } catch (e) {
      if (e instanceof BerthError) throw e;
      throw new BuildError(`${instr} failed: ${messageOf(e)}`);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  private async fetchUrl(url: string, tmp: string): Promise<{ src: Source; items: Walked[] }> {
    const resp = await fetch(url).catch((e) => { throw new BuildError(`failed to GET ${url}: ${messageOf(e)}`); });
    if (!resp.ok) throw new BuildError(`failed to GET ${url} with status ${resp.status} ${resp.statusText}`);
    const name = posix.basename(new URL(url).pathname) || 'download';
    const dir = await mkdtemp(join(tmp, 'u-'));
    const p = join(dir, name);
    await writeFile(p, Buffer.from(await resp.arrayBuffer()), { mode: 0o600 });
    const lm = resp.headers.get('last-modified');
    if (lm) { const t = new Date(lm); const { utimes } = await import('node:fs/promises'); await utimes(p, t, t); }
    const src: Source = { name, abs: p, st: await lstat(p) };
    return { src, items: await walkSource(src) };
  }
}

/** A local tar archive (plain, gzip, bzip2, xz) that ADD unpacks. */
async function isArchive(p: string): Promise<boolean> {
  const { open } = await import('node:fs/promises');
  const fh = await open(p, 'r');
  try {
    const b = Buffer.alloc(512);
    const { bytesRead } = await fh.read(b, 0, 512, 0);
    if (bytesRead >= 3 && b[0] === 0x1f && b[1] === 0x8b) return true;
    if (bytesRead >= 3 && b.subarray(0, 3).toString() === 'BZh') return true;
    if (bytesRead >= 6 && b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true;
    return bytesRead >= 262 && b.subarray(257, 262).toString() === 'ustar';
  } finally { await fh.close(); }
}

export { InvalidArgumentError };
