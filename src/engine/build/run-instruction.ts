/**
 * RUN: the command runs in a build-step container on the current image,
 * with the build args in effect in its environment (the declared ones also
 * key the cache); its output is the step's, stderr coloured as the classic
 * builder does; its changes become the step's layer. A failed command keeps
 * its container unless --force-rm; a cancelled build kills it.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import type { ContainerConfig } from '../../core/wire/container-config.js';
import type { Node } from '../../dockerfile/parser.js';
import { readLogs } from '../containers/logs.js';
import type { ContainerService } from '../containers/service.js';
import type { ImageService } from '../images/service.js';
import type { ImageStorage } from '../images/storage.js';
import { parseFlags } from './instruction-flags.js';
import { commitSnapshot } from './layers.js';
import { BuildError } from './options.js';
import type { BuildSession } from './session.js';
import { envKey, PROXY_ARGS, stageShell, type StageState, type StepWrite } from './stage-state.js';
import type { StepImages } from './step-image.js';

export class RunInstruction {
  constructor(
    private readonly images: ImageService,
    private readonly storage: ImageStorage,
    private readonly containers: ContainerService,
    private readonly session: BuildSession,
    private readonly steps: StepImages,
  ) {}

  async run(st: StageState, n: Node, write: StepWrite): Promise<void> {
    const o = this.session.o;
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
      argv = [...stageShell(st), script];
    }
    // Build args in effect: their values reach the command's environment, and the declared ones key the cache.
    const envKeys = new Set((st.config.Env ?? []).map(envKey));
    const argEnv: string[] = [];
    const prefix: string[] = [];
    for (const [k, v] of st.args) {
      if (v === undefined || envKeys.has(k)) continue;
      argEnv.push(`${k}=${v}`);
      prefix.push(`${k}=${v}`);
      this.session.usedArgs.add(k);
    }
    for (const k of PROXY_ARGS) {
      const v = o.buildArgs[k];
      if (v !== undefined && v !== null && !st.args.has(k) && !envKeys.has(k)) argEnv.push(`${k}=${v}`);
    }
    prefix.sort();
    const saved = prefix.length ? [`|${prefix.length}`, ...prefix, ...argv] : argv;
    const cc: ContainerConfig = { ...st.config, Cmd: saved };
    if (await this.steps.probe(st, cc, write)) return;
    const req = {
      ...st.config,
      Image: st.image.id,
      Cmd: argv,
      Entrypoint: [''],
      Env: [...(st.config.Env ?? []), ...argEnv],
      Healthcheck: { Test: ['NONE'] },
      OnBuild: null,
      HostConfig: {
        NetworkMode: o.networkMode || 'default',
        ExtraHosts: o.extraHosts.length ? o.extraHosts : null,
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
    o.signal?.addEventListener('abort', cancel);
    try {
      this.session.checkCancelled();
      const stopped = exited.then(() => {});
      const logs = readLogs(this.containers.logPath(c), { follow: true, stopped, partial: true });
      await this.containers.start(id);
      if (o.signal?.aborted) cancel();
      // The classic builder colours what a step writes to stderr, one write at a time.
      for await (const r of logs) write(r.stream === 'stderr' ? `\x1b[91m${r.line.toString('utf8')}\x1b[0m` : r.line.toString('utf8'));
      code = await exited;
      this.session.checkCancelled();
    } catch (err) {
      await this.containers.remove(id, { force: true }).catch(() => {});
      throw err;
    } finally {
      o.signal?.removeEventListener('abort', cancel);
    }
    if (code !== 0) {
      if (o.forceRm) {
        await this.containers.remove(id, { force: true }).catch(() => {});
        write(`Removing intermediate container ${id.slice(0, 12)}\n`);
      } else {
        await this.containers.keepBuildStep(id);
        this.session.failedContainers.push(id);
      }
      throw new BuildError(`The command '${argv.join(' ')}' returned a non-zero code: ${code}`, code);
    }
    const parent = this.images.topChainId(st.image);
    let layer;
    try {
      // A remapped step (root in it a subordinate uid on the host) is archived with its own ids, as if unmapped.
      layer = await commitSnapshot(this.storage, id, parent, true, c.rec.IdMap);
    } finally {
      if (o.rm || o.forceRm) {
        await this.containers.remove(id, { force: true });
        write(`Removing intermediate container ${id.slice(0, 12)}\n`);
      } else await this.containers.keepBuildStep(id);
    }
    await this.steps.createStepImage(st, cc, { container: id, layer });
  }
}
