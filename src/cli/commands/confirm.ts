/** The yes/no question docker's prune commands ask before removing anything (skipped by --force). */
import { createInterface } from 'node:readline/promises';
import type { Cli } from '../cli.js';

/** Prints `warning` and docker's question, then reads one line of stdin: true for y or yes. */
export async function confirm(cli: Cli, warning: string): Promise<boolean> {
  cli.out(`${warning}\nAre you sure you want to continue? [y/N] `);
  const rl = createInterface({ input: process.stdin });
  const answer = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}
