/**
 * Stages that do not depend on each other build at the same time, but the
 * client reads their steps in stage order: the printer writes a stage's
 * text live while every stage before it has finished, and buffers it
 * otherwise.
 */
import type { BuildOutput } from './options.js';

/** Ordered output: a stage writes live when every stage before it has finished, else into its buffer. */
export class StagePrinter {
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
