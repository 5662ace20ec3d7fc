/**
 * An instruction's `--flag=value` options, checked against the ones it
 * takes; BuildKit-only flags fail with the message the classic builder gives.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import type { Node } from '../../dockerfile/parser.js';

export function parseFlags(node: Node, allowed: string[]): Map<string, string> {
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
