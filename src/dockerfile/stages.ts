/**
 * The stage planner: a parsed Dockerfile → its global ARGs and its stages,
 * which earlier stage each `FROM` and `COPY --from` names, and which stages a
 * target needs, in the order they are built. Pure: no image is looked up
 * here; the builder (engine/build/builder.ts) runs the plan.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { splitRawWords, type Dockerfile, type Node } from './parser.js';
import { processWord, processWords, type Env } from './shell-lex.js';

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

export interface Stage {
  index: number;
  name?: string;
  from: Node;
  nodes: Node[];
  deps: Set<number>;
  /** First step number of this stage. */
  firstStep: number;
}

export interface StagePlan {
  stages: Stage[];
  /** The ARG instructions before the first FROM. */
  metaArgNodes: Node[];
  /** Their values: the build arg if given, else the default (undefined: declared without one). */
  metaArgs: Map<string, string | undefined>;
  /** Build args the global ARGs consumed. */
  usedArgs: string[];
}

/** Split the Dockerfile into global ARGs and stages, and find what each stage needs. */
export function planStages(df: Dockerfile, buildArgs: Record<string, string | null>): StagePlan {
  const stages: Stage[] = [];
  const metaArgNodes: Node[] = [];
  const metaArgs = new Map<string, string | undefined>();
  const usedArgs: string[] = [];
  let cur: Stage | undefined;
  for (const n of df.nodes) {
    if (n.cmd === 'from') {
      cur = { index: stages.length, from: n, nodes: [], deps: new Set(), firstStep: 0 };
      stages.push(cur);
      continue;
    }
    if (!cur) {
      if (n.cmd !== 'arg') throw new InvalidArgumentError(`dockerfile parse error line ${n.line}: no build stage in current context`);
      metaArgNodes.push(n);
      for (const w of splitRawWords(n.args, df.escape)) {
        const eq = w.indexOf('=');
        const k = eq < 0 ? w : w.slice(0, eq);
        const given = Object.hasOwn(buildArgs, k) ? buildArgs[k] : undefined;
        const env = metaEnv(metaArgs);
        metaArgs.set(k, given ?? (eq < 0 ? undefined : processWord(w.slice(eq + 1), env, df.escape)));
        if (given !== undefined) usedArgs.push(k);
      }
      continue;
    }
    cur.nodes.push(n);
  }
  if (stages.length === 0) throw new InvalidArgumentError('dockerfile parse error: no build stage in current context');
  for (const s of stages) {
    const words = processWords(s.from.args, metaEnv(metaArgs), df.escape);
    if (words.length === 3 && words[1]!.toLowerCase() === 'as') {
      const name = words[2]!.toLowerCase();
      if (!STAGE_NAME.test(name))
        throw new InvalidArgumentError(`invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
      if (stages.some((o) => o !== s && o.name === name)) throw new InvalidArgumentError(`duplicate name ${name}`);
      s.name = name;
    } else if (words.length !== 1) {
      throw new InvalidArgumentError(`dockerfile parse error line ${s.from.line}: FROM requires either one or three arguments`);
    }
    const base = stageRef(stages, words[0]!, s.index);
    if (base !== undefined) s.deps.add(base);
    for (const n of s.nodes) {
      if (n.cmd !== 'copy') continue;
      const from = n.flags.find((f) => f.startsWith('--from='));
      if (!from) continue;
      const ref = stageRef(stages, processWord(from.slice(7), metaEnv(metaArgs), df.escape), s.index);
      if (ref !== undefined) s.deps.add(ref);
    }
  }
  return { stages, metaArgNodes, metaArgs, usedArgs };
}

/** The index of an earlier stage `name` denotes (by name or number), if it names one. */
export function stageRef(stages: Stage[], name: string, before: number): number | undefined {
  const lower = name.toLowerCase();
  const byName = stages.findIndex((s, i) => i < before && s.name === lower);
  if (byName >= 0) return byName;
  if (/^\d+$/.test(name)) {
    const i = Number(name);
    if (i >= before) throw new InvalidArgumentError(`invalid from flag value ${name}: refers to current build stage or a later one`);
    return i;
  }
  return undefined;
}

/** The variables the global ARGs give to FROM and `COPY --from`. */
export function metaEnv(metaArgs: Map<string, string | undefined>): Env {
  const m = new Map<string, string>();
  for (const [k, v] of metaArgs) if (v !== undefined) m.set(k, v);
  return m;
}

/** The stage `target` names (the last stage without one), or -1 when it names none. */
export function targetStage(stages: Stage[], target: string | undefined): number {
  return target !== undefined ? stages.findIndex((s) => s.name === target.toLowerCase()) : stages.length - 1;
}

/** Only what the target needs, each stage once, in Dockerfile order. */
export function neededStages(stages: Stage[], targetIdx: number): number[] {
  const needed = new Set<number>();
  const want = (i: number) => {
    if (needed.has(i)) return;
    needed.add(i);
    for (const d of stages[i]!.deps) want(d);
  };
  want(targetIdx);
  return [...needed].sort((a, b) => a - b);
}
