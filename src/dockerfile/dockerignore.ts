/**
 * `.dockerignore` read and matched as the docker CLI and dockerd do it
 * (moby/patternmatcher and its ignorefile reader), so a context leaves
 * `berth build` exactly as it leaves `docker build`:
 *
 * - reading: a line whose first character is `#` is a comment (only then: a
 *   line ` #x` is the pattern `#x`, and a file named `#file.txt` is matched
 *   like any other); spaces around a pattern are trimmed; `!` starts an
 *   exception, spaces after it trimmed too; patterns are cleaned (`..`
 *   resolved, a leading `/` dropped); a byte-order mark on the first line goes.
 * - matching: the last pattern that matches a path or one of its parent
 *   directories decides; `*` and `?` stay within one path element, `**`
 *   spans any number of them, `\` escapes the next character, `[…]` is a
 *   character class as a regular expression reads it (`[^…]` negates).
 */
import { posix } from 'node:path';
import { InvalidArgumentError } from '../core/errors.js';

export interface IgnorePattern {
  text: string;
  exclusion: boolean;
  re: RegExp;
}

/** Characters a regular expression would read specially but a path pattern does not. */
const LITERAL = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

/**
 * The pattern as one regular expression. (patternmatcher special-cases
 * exact, prefix `x/**` and suffix `**​/x` patterns for speed; each of those
 * matches exactly what this expression matches.)
 */
function compile(p: string): RegExp {
  if (!/[*?[\]\\]/.test(p)) return new RegExp(`^${escape(p)}$`, 's');
  if (p.startsWith('**') && !/[*?[\]\\]/.test(p.slice(2))) {
    // `**x`: any path ending in x; `**/x` also x itself.
    const suffix = p.slice(2);
    return new RegExp(`^(.*${escape(suffix)}${suffix.startsWith('/') ? `|${escape(suffix.slice(1))}` : ''})$`, 's');
  }
  let re = '^';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (p[i + 1] === '*') {
        i++;
        if (p[i + 1] === '/') i++;
        re += i + 1 >= p.length ? '.*' : '(.*/)?';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (LITERAL.has(c)) re += '\\' + c;
    else if (c === '\\') re += i + 1 < p.length ? '\\' + p[++i]! : '\\\\';
    else re += c;
  }
  try {
    return new RegExp(re + '$', 's');
  } catch {
    throw new InvalidArgumentError(`syntax error in pattern: ${p}`);
  }
}

function escape(s: string): string {
  return s.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
}

/** Patterns from a .dockerignore file's text. */
export function parseDockerignore(text: string): IgnorePattern[] {
  const out: IgnorePattern[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let line of lines) {
    if (line.startsWith('#')) continue;
    line = line.trim();
    if (!line) continue;
    let exclusion = false;
    if (line.startsWith('!')) {
      exclusion = true;
      line = line.slice(1).trim();
      if (!line) throw new InvalidArgumentError('illegal exclusion pattern: "!"');
    }
    let p = clean(line);
    if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
    out.push({ text: p, exclusion, re: compile(p) });
  }
  return out;
}

/** Go's filepath.Clean for slash paths: no trailing slash, `.` and `..` resolved. */
function clean(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** patternmatcher's MatchesOrParentMatches: is `path` (relative, slash-separated) excluded? */
export function isIgnored(patterns: IgnorePattern[], path: string): boolean {
  if (patterns.length === 0) return false;
  const parts = path.split('/');
  let matched = false;
  for (const p of patterns) {
    if (p.exclusion !== matched) continue; // cannot change the verdict
    let m = p.re.test(path);
    for (let i = 1; !m && i < parts.length; i++) m = p.re.test(parts.slice(0, i).join('/'));
    if (m) matched = !p.exclusion;
  }
  return matched;
}

/** Whether an excluded directory may still hold re-included files (so its walk cannot be skipped). */
export function hasExceptions(patterns: IgnorePattern[]): boolean {
  return patterns.some((p) => p.exclusion);
}
