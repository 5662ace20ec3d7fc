/**
 * The instructions that change only the image config — ENV, LABEL,
 * MAINTAINER, ARG, CMD, ENTRYPOINT, EXPOSE, VOLUME, USER, STOPSIGNAL,
 * SHELL, ONBUILD, HEALTHCHECK — each an image with an empty layer whose
 * history reads as the classic builder writes it (Go's %v of the value);
 * and WORKDIR, which also creates its directory when the stage has an image.
 */
import { posix } from 'node:path';
import { InvalidArgumentError } from '../../core/errors.js';
import { parseGoDuration } from '../../core/go-time.js';
import type { ContainerConfig } from '../../core/wire/container-config.js';
import { Tree } from '../../archive/tree.js';
import { parseKeyValues, parseTrigger, splitRawWords, type Node } from '../../dockerfile/parser.js';
import { processWord, processWords } from '../../dockerfile/shell-lex.js';
import type { Stage } from '../../dockerfile/stages.js';
import { parseFlags } from './instruction-flags.js';
import type { BuildSession } from './session.js';
import { DEFAULT_SHELL, setEnv, stageEnv, stageShell, type StageState, type StepWrite } from './stage-state.js';
import type { StepImages } from './step-image.js';

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

export class ConfigInstructions {
  constructor(
    private readonly session: BuildSession,
    private readonly steps: StepImages,
  ) {}

  /** Apply config instruction `n` (or WORKDIR) of stage `s`; other instructions are not handled here. */
  async apply(st: StageState, n: Node, write: StepWrite, s: Stage): Promise<void> {
    const env = () => stageEnv(st);
    const esc = st.escape;
    const word = (x: string) => processWord(x, env(), esc, this.session.usedArgs);
    switch (n.cmd) {
      case 'env': {
        const pairs = parseKeyValues('ENV', n.args, esc).map(([k, v]) => [word(k), word(v)] as const);
        for (const [k, v] of pairs) st.config.Env = setEnv(st.config.Env, k, v);
        return this.steps.commitConfig(st, `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, write);
      }
      case 'label': {
        const pairs = parseKeyValues('LABEL', n.args, esc).map(([k, v]) => [word(k), word(v)] as const);
        st.config.Labels = { ...(st.config.Labels ?? {}) };
        for (const [k, v] of pairs) st.config.Labels[k] = v;
        return this.steps.commitConfig(st, `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, write);
      }
      case 'maintainer':
        st.maintainer = n.args;
        return this.steps.commitConfig(st, `MAINTAINER ${n.args}`, write);
      case 'arg': {
        const buildArgs = this.session.o.buildArgs;
        const parts: string[] = [];
        for (const w of splitRawWords(n.args, esc)) {
          const eq = w.indexOf('=');
          const k = eq < 0 ? w : w.slice(0, eq);
          const def = eq < 0 ? undefined : word(w.slice(eq + 1));
          let v: string | undefined;
          if (Object.hasOwn(buildArgs, k) && buildArgs[k] !== null) {
            v = buildArgs[k]!;
            this.session.usedArgs.add(k);
          } else v = def ?? this.session.metaArgs.get(k);
          st.args.set(k, v);
          parts.push(eq < 0 ? k : `${k}=${def}`);
        }
        return this.steps.commitConfig(st, `ARG ${parts.join(' ')}`, write);
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
        return this.steps.commitConfig(st, `${n.cmd.toUpperCase()} ${goList(argv)}`, write);
      }
      case 'expose': {
        const ports = processWords(n.args, env(), esc, this.session.usedArgs);
        st.config.ExposedPorts = { ...(st.config.ExposedPorts ?? {}) };
        for (const p of ports) {
          const [port, proto = 'tcp'] = p.split('/');
          if (!/^\d+(-\d+)?$/.test(port!)) throw new InvalidArgumentError(`invalid containerPort: ${port}`);
          st.config.ExposedPorts[`${port}/${proto.toLowerCase()}`] = {};
        }
        return this.steps.commitConfig(st, `EXPOSE ${ports.join(' ')}`, write);
      }
      case 'volume': {
        const vols = n.json ? n.json.map(word) : processWords(n.args, env(), esc, this.session.usedArgs);
        st.config.Volumes = { ...(st.config.Volumes ?? {}) };
        for (const v of vols) {
          if (!v.trim()) throw new InvalidArgumentError('VOLUME specified can not be an empty string');
          st.config.Volumes[v] = {};
        }
        return this.steps.commitConfig(st, `VOLUME [${vols.join(' ')}]`, write);
      }
      case 'user':
        st.config.User = word(n.args);
        return this.steps.commitConfig(st, `USER ${st.config.User}`, write);
      case 'stopsignal': {
        const sig = word(n.args);
        if (!/^(SIG)?[A-Z0-9+-]+$|^\d+$/i.test(sig)) throw new InvalidArgumentError(`Invalid signal: ${sig}`);
        st.config.StopSignal = sig;
        return this.steps.commitConfig(st, `STOPSIGNAL ${sig}`, write);
      }
      case 'shell': {
        if (!n.json) throw new InvalidArgumentError('SHELL requires the arguments to be in JSON form');
        st.config.Shell = n.json;
        return this.steps.commitConfig(st, `SHELL [${n.json.join(' ')}]`, write);
      }
      case 'onbuild': {
        const inner = parseTrigger(n.args, esc);
        if (['onbuild', 'from', 'maintainer'].includes(inner.cmd))
          throw new InvalidArgumentError(`${inner.cmd.toUpperCase()} isn't allowed as an ONBUILD trigger`);
        st.config.OnBuild = [...(st.config.OnBuild ?? []), n.args];
        return this.steps.commitConfig(st, `ONBUILD ${n.args}`, write);
      }
      case 'healthcheck':
        return this.healthcheck(st, n, write);
      case 'workdir':
        return this.workdir(st, word(n.args), write);
    }
  }

  private async healthcheck(st: StageState, n: Node, write: StepWrite): Promise<void> {
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
    return this.steps.commitConfig(
      st,
      `HEALTHCHECK &{${goList(test)} ${goQuote(goDuration((hc.Interval as number) ?? 0))} ${goQuote(goDuration((hc.Timeout as number) ?? 0))} ${goQuote(goDuration((hc.StartPeriod as number) ?? 0))} ${goQuote(goDuration((hc.StartInterval as number) ?? 0))} ${ch}}`,
      write,
    );
  }

  private async workdir(st: StageState, dir: string, write: StepWrite): Promise<void> {
    const wd = posix.isAbsolute(dir) ? posix.normalize(dir) : posix.join('/', st.config.WorkingDir || '/', dir);
    st.config.WorkingDir = wd;
    const cc: ContainerConfig = { ...st.config, Cmd: [...stageShell(st), `#(nop) WORKDIR ${wd}`] };
    if (await this.steps.probe(st, cc, write)) return;
    const layer = st.image
      ? await this.steps.withRootfs(st, async (root) => {
          const tree = Tree.open(root);
          try {
            tree.release(tree.dir(wd, { create: true }).fd);
          } finally {
            tree.close();
          }
        })
      : undefined;
    await this.steps.createStepImage(st, cc, { layer });
  }
}
