/**
 * `.dockerignore` with Docker's rules: one pattern a line, `#` comments,
 * `!` re-includes, the last matching pattern wins, a pattern that matches
 * a directory matches everything under it, `*` and `?` stay within one
 * path element, `**` spans any number of them, patterns are cleaned
 * (`..` resolved, a leading `/` dropped). The CLI applies it before
 * sending a context and the daemon applies it again to what it receives.
 */
import { posix } from 'node:path';

export interface IgnorePattern {
  text: string;
  exclusion: boolean;
  re: RegExp;
}

function escapeRe(c: string): string {
  return c.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
}

function compile(p: string): RegExp {
  let re = '^';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (p[i + 1] === '*') {
        i++;
        while (p[i + 1] === '*') i++;
        if (p[i + 1] === '/') { i++; re += '(.*/)?'; } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < p.length) re += escapeRe(p[++i]!);
    else if (c === '[') {
      const end = p.indexOf(']', i + 1);
      if (end < 0) { re += '\\['; continue; }
      let cls = p.slice(i + 1, end);
      if (cls.startsWith('!')) cls = '^' + cls.slice(1);
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(re + '$');
}

/** Patterns from a .dockerignore file's text. */
export function parseDockerignore(text: string): IgnorePattern[] {
  const out: IgnorePattern[] = [];
  for (let line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    line = line.trim();
    if (!line) continue;
    let exclusion = false;
    if (line.startsWith('!')) { exclusion = true; line = line.slice(1).trim(); if (!line) continue; }
    let p = posix.normalize(line);
    if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
    if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
    out.push({ text: p, exclusion, re: compile(p) });
  }
  return out;
}

/** Docker's MatchesOrParentMatches: is `path` (relative, slash-separated) excluded? */
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
