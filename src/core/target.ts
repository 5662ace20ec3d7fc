/**
 * The request target as dockerd's Go server reads it: an origin-form path
 * (a leading `//` is part of the path, not a host) and a query. Percent-escapes
 * decode to bytes, and bytes that are not UTF-8 become U+FFFD, as Go prints
 * them; only a malformed escape (`%zz`) is an error. Nothing here throws
 * anything but a 400.
 */
import { InvalidArgumentError } from './errors.js';

export interface Target {
  path: string;
  query: URLSearchParams;
}

export function parseTarget(raw: string): Target {
  let t = raw;
  // Absolute form ("GET http://host/path"), which HTTP/1.1 servers must accept.
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(t);
  if (abs) t = t.slice(abs[0].length) || '/';
  const q = t.indexOf('?');
  const path = q < 0 ? t : t.slice(0, q);
  const query = q < 0 ? '' : t.slice(q + 1).replace(/#.*$/, '');
  if (!path.startsWith('/')) throw new InvalidArgumentError(`invalid request target: ${JSON.stringify(raw)}`);
  checkEscapes(path);
  // URLSearchParams never throws: a bad escape in a query value is kept as written, as Go's ParseQuery would refuse only that key.
  return { path, query: new URLSearchParams(query) };
}

function checkEscapes(s: string): void {
  const bad = /%(?![0-9a-fA-F]{2})/.exec(s);
  if (bad) throw new InvalidArgumentError(`invalid URL escape ${JSON.stringify(s.slice(bad.index, bad.index + 3))}`);
}

/**
 * One path segment, percent-decoded to bytes and read as UTF-8 (lossy, like Go's
 * printing of it). Node hands over the raw target one byte per character.
 */
export function decodeSegment(s: string): string {
  checkEscapes(s);
  if (!/[%\u0080-\uffff]/.test(s)) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (s[i] === '%') {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 256) bytes.push(c);
    else bytes.push(...Buffer.from(s[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
