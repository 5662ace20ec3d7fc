/**
 * `.dockerignore`: Docker's matching rules. Patterns are cleaned and made
 * relative to the context root; `*` and `?` stay within one path element,
 * `**` spans any number of them; a pattern that matches a directory
 * excludes everything under it; `!` re-includes; the last match wins.
 */
import { posix } from 'node:path';

interface Pattern { re: RegExp; exclusion: boolean; text: string }

function globToRegExp(p: string): RegExp {
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*') {
      if (p[i + 1] === '*') {
        i++;
        // `**/` matches zero or more directories; a trailing `**` anything.
        if (p[i + 1] === '/') { i++; re += '(?:.*/)?'; } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = p.indexOf(']', i + 1);
      if (end < 0) { re += '\\['; continue; }
      let cls = p.slice(i + 1, end);
      if (cls.startsWith('^') || cls.startsWith('!')) cls = '^' + cls.slice(1);
      re += '[' + cls.replace(/\\/g, '\\\\') + ']';
      i = end;
    } else if (c === '\\' && i + 1 < p.length) { re += p[++i].replace(/[.+^${}()|[\]\\*?]/g, '\\$&'); }
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp('^' + re + '$');
}

export function parseDockerignore(text: string): Pattern[] {
  const out: Pattern[] = [];
  for (let line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    line = line.trim();
    if (!line) continue;
    let exclusion = false;
    if (line.startsWith('!')) { exclusion = true; line = line.slice(1).trim(); }
    let p = posix.normalize(line);
    p = p.replace(/^\/+/, '').replace(/\/+$/, '');
    if (p === '' || p === '.') p = '.';
    out.push({ re: globToRegExp(p), exclusion, text: p });
  }
  return out;
}

export class IgnoreMatcher {
  readonly patterns: Pattern[];
  constructor(text: string) { this.patterns = parseDockerignore(text); }

  get hasExceptions(): boolean { return this.patterns.some((p) => p.exclusion); }

  /** Whether a context-relative path (posix, no leading `./`) is excluded. */
  excluded(rel: string): boolean {
    const parts = rel.split('/');
    let matched = false;
    for (const p of this.patterns) {
      let hit = p.re.test(rel);
      // A pattern matching a parent directory matches everything under it.
      for (let k = parts.length - 1; !hit && k > 0; k--) hit = p.re.test(parts.slice(0, k).join('/'));
      if (hit) matched = !p.exclusion;
    }
    return matched;
  }

  /** Whether a walk may skip an excluded directory entirely (no `!` pattern could re-include something below it). */
  canSkipDir(rel: string): boolean {
    if (!this.excluded(rel)) return false;
    for (const p of this.patterns) {
      if (!p.exclusion) continue;
      // An exception inside this dir, or one with wildcards we cannot rule out.
      if (p.text.startsWith(rel + '/') || /[*?[]/.test(p.text)) return false;
    }
    return true;
  }
}
