/**
 * A request body read the way dockerd's handlers read one with Go's
 * `json.NewDecoder(r.Body).Decode(&v)`: one JSON value, anything after it
 * ignored, and the failures worded as Go words them — "EOF" for an empty body,
 * "unexpected EOF" for a cut-off one, "invalid character 'b' looking for
 * beginning of object key string" for a syntax error. Clients (and the
 * differential suite) see those words, so V8's own parser messages must not
 * leak out. Which HTTP status a failure gets is the route's call: dockerd
 * answers 400 on some endpoints and 500 on others.
 */

/** The three ways Go's decoder fails on the bytes alone. */
export class GoJsonError extends Error {
  constructor(
    message: string,
    readonly kind: 'eof' | 'unexpected-eof' | 'syntax',
  ) {
    super(message);
  }
}

/** Go's quoteChar: how a scanner error names the offending byte. */
function quoteChar(c: string): string {
  if (c === "'") return `'\\''`;
  if (c === '"') return `'"'`;
  const q = JSON.stringify(c);
  return `'${q.slice(1, -1)}'`;
}

const WS = new Set([' ', '\t', '\r', '\n']);

/**
 * The end (exclusive) of the first JSON value in `s` starting at `i`, or a
 * GoJsonError worded as Go's scanner words it.
 */
function scanValue(s: string, i: number): number {
  const fail = (c: string | undefined, what: string): never => {
    if (c === undefined) throw new GoJsonError('unexpected EOF', 'unexpected-eof');
    throw new GoJsonError(`invalid character ${quoteChar(c)} ${what}`, 'syntax');
  };
  const skip = (j: number) => {
    while (j < s.length && WS.has(s[j]!)) j++;
    return j;
  };
  const value = (j: number): number => {
    j = skip(j);
    const c = s[j];
    if (c === '{') {
      j = skip(j + 1);
      if (s[j] === '}') return j + 1;
      for (;;) {
        if (s[j] !== '"') fail(s[j], 'looking for beginning of object key string');
        j = skip(string(j));
        if (s[j] !== ':') fail(s[j], 'after object key');
        j = skip(value(j + 1));
        if (s[j] === '}') return j + 1;
        if (s[j] !== ',') fail(s[j], 'after object key:value pair');
        j = skip(j + 1);
      }
    }
    if (c === '[') {
      j = skip(j + 1);
      if (s[j] === ']') return j + 1;
      for (;;) {
        j = skip(value(j));
        if (s[j] === ']') return j + 1;
        if (s[j] !== ',') fail(s[j], 'after array element');
        j += 1;
      }
    }
    if (c === '"') return string(j);
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number(j);
    for (const lit of ['true', 'false', 'null']) {
      if (c === lit[0]) {
        for (let k = 1; k < lit.length; k++) if (s[j + k] !== lit[k]) fail(s[j + k], `in literal ${lit} (expecting ${quoteChar(lit[k]!)})`);
        return j + lit.length;
      }
    }
    return fail(c, 'looking for beginning of value');
  };
  const string = (j: number): number => {
    for (j += 1; ; j++) {
      const c = s[j];
      if (c === undefined) fail(c, '');
      if (c === '"') return j + 1;
      if (c! < ' ') fail(c, 'in string literal');
      if (c === '\\') {
        const e = s[++j];
        if (e === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(s[j + k] ?? '')) fail(s[j + k], 'in \\u hexadecimal character escape');
          j += 4;
        } else if (e === undefined || !'"\\/bfnrt'.includes(e)) fail(e, 'in string escape code');
      }
    }
  };
  const digits = (j: number) => {
    while (s[j] !== undefined && s[j]! >= '0' && s[j]! <= '9') j++;
    return j;
  };
  const number = (j: number): number => {
    if (s[j] === '-') {
      j++;
      if (!(s[j]! >= '0' && s[j]! <= '9')) fail(s[j], 'in numeric literal');
    }
    j = s[j] === '0' ? j + 1 : digits(j);
    if (s[j] === '.') {
      j++;
      if (!(s[j]! >= '0' && s[j]! <= '9')) fail(s[j], 'after decimal point in numeric literal');
      j = digits(j);
    }
    if (s[j] === 'e' || s[j] === 'E') {
      j++;
      if (s[j] === '+' || s[j] === '-') j++;
      if (!(s[j]! >= '0' && s[j]! <= '9')) fail(s[j], 'in exponent of numeric literal');
      j = digits(j);
    }
    return j;
  };
  return value(i);
}

/** The first JSON value of a request body, as Go's json.Decoder reads it (trailing bytes ignored). */
export function goDecode(raw: Buffer | string): unknown {
  const s = typeof raw === 'string' ? raw : raw.toString('utf8');
  let i = 0;
  while (i < s.length && WS.has(s[i]!)) i++;
  if (i >= s.length) throw new GoJsonError('EOF', 'eof');
  const end = scanValue(s, i);
  return JSON.parse(s.slice(i, end));
}
