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
 * This file is the orchestration: the Dockerfile read from the context, the
 * stage loop, each stage's FROM, and each instruction handed to its
 * executor. Which stages, and what they depend on, is dockerfile/stages.ts's
 * plan; the executors are config-instructions.ts, run-instruction.ts and
 * copy-instruction.ts; how a step becomes an image (and the cache lookup,
 * cache.ts) is step-image.ts; what the stages share is session.ts.
 */
import { shortId, type Digest } from '../../core/digest.js';
import { BerthError, InvalidArgumentError } from '../../core/errors.js';
import { familiarString, parseReference, withDefaultTag } from '../../core/reference.js';
import { cleanContextPath } from '../../dockerfile/context.js';
import { parseDockerfile, parseTrigger, type Dockerfile, type Node } from '../../dockerfile/parser.js';
import { processWords } from '../../dockerfile/shell-lex.js';
import { neededStages, planStages, targetStage, type Stage } from '../../dockerfile/stages.js';
import type { ContainerService } from '../containers/service.js';
import type { ImageService } from '../images/service.js';
import type { ImageStorage } from '../images/storage.js';
import type { ImageRecord } from '../images/types.js';
import { ConfigInstructions } from './config-instructions.js';
import { CopyInstruction } from './copy-instruction.js';
import { parseFlags } from './instruction-flags.js';
import type { BuildOptions, BuildOutput } from './options.js';
import { RunInstruction } from './run-instruction.js';
import { BuildSession } from './session.js';
import { StagePrinter } from './stage-printer.js';
import { PROXY_ARGS, type StageState, type StepWrite } from './stage-state.js';
import { StepImages } from './step-image.js';

export { BuildCancelledError, BuildError, type BuildOptions, type BuildOutput } from './options.js';

export class Builder {
  private stepTotal = 0;
  private printer!: StagePrinter;
  private df!: Dockerfile;
  private metaArgNodes: Node[] = [];
  private readonly session: BuildSession;
  private readonly steps: StepImages;
  private readonly configInstructions: ConfigInstructions;
  private readonly runInstruction: RunInstruction;
  private readonly copyInstruction: CopyInstruction;

  constructor(
    private readonly images: ImageService,
    storage: ImageStorage,
    containers: ContainerService,
    private readonly o: BuildOptions,
    private readonly out: BuildOutput,
  ) {
    this.session = new BuildSession(images, o);
    this.steps = new StepImages(images, storage, this.session);
    this.configInstructions = new ConfigInstructions(this.session, this.steps);
    this.runInstruction = new RunInstruction(images, storage, containers, this.session, this.steps);
    this.copyInstruction = new CopyInstruction(images, storage, this.session, this.steps);
  }

  async build(): Promise<Digest> {
    const session = this.session;
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
    session.stages = plan.stages;
    this.metaArgNodes = plan.metaArgNodes;
    session.metaArgs = plan.metaArgs;
    for (const k of plan.usedArgs) session.usedArgs.add(k);
    const targetIdx = targetStage(session.stages, this.o.target);
    if (targetIdx < 0) throw new InvalidArgumentError(`failed to reach build target ${this.o.target} in Dockerfile`);
    const order = neededStages(session.stages, targetIdx);
    // --label: one more LABEL step at the end of the target stage.
    const labels = Object.entries(this.o.labels);
    if (labels.length) {
      const text = `LABEL ${labels.map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' ')}`;
      const target = session.stages[targetIdx]!;
      target.nodes.push({ ...parseDockerfile(text).nodes[0]!, line: target.from.line });
    }
    let step = this.metaArgNodes.length;
    for (const i of order) {
      const s = session.stages[i]!;
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
        session.stageImages.set(
          i,
          this.runStage(session.stages[i]!).finally(() => this.printer.finish(i)),
        );
      // Every needed stage must succeed; the first failure is the build's error.
      const results = await Promise.allSettled(order.map((i) => session.stageImages.get(i)!));
      const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      if (failed) throw failed.reason;
      session.checkCancelled();
      const final = await session.stageImages.get(targetIdx)!;
      if (!final) throw new InvalidArgumentError('No image was generated. Is your Dockerfile empty?');
      const unused = Object.keys(this.o.buildArgs)
        .filter((k) => !session.usedArgs.has(k) && !PROXY_ARGS.includes(k))
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
      for (const h of session.holds) h();
    }
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
      this.session.checkCancelled();
      step++;
      write(`Step ${step}/${this.stepTotal} : ${n.original}`);
      write('\n');
      await this.dispatch(st, n, write, s);
      if (st.image) write(` ---> ${shortId(st.image.id)}\n`);
    }
    return st.image;
  }

  private async from(s: Stage, st: StageState, write: StepWrite): Promise<void> {
    const flags = parseFlags(s.from, ['platform']);
    void flags;
    const words = processWords(s.from.args, this.session.metaEnv(), this.df.escape);
    const base = words[0]!;
    const dep = this.session.stageRef(base, s.index);
    let rec: ImageRecord | undefined;
    if (dep !== undefined) rec = await this.session.stageImages.get(dep);
    else if (base.toLowerCase() !== 'scratch') rec = await this.session.resolveImage(base);
    if (rec) {
      this.session.holds.push(this.images.holdLayers(rec));
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

  /** Hand instruction `n` to its executor. */
  private async dispatch(st: StageState, n: Node, write: StepWrite, s: Stage): Promise<void> {
    switch (n.cmd) {
      case 'run':
        return this.runInstruction.run(st, n, write);
      case 'copy':
      case 'add':
        return this.copyInstruction.copy(st, n, write);
      case 'from':
        throw new InvalidArgumentError('FROM is not allowed here');
      default:
        return this.configInstructions.apply(st, n, write, s);
    }
  }
}
