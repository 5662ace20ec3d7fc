/**
 * Go's dynamic types for the template engine, and fmt's %v (Sprint/Sprintln).
 * JS values map onto Go's dynamic types as follows:
 * string → string, integer number/bigint → int, other number → float64,
 * boolean → bool, array → []interface {}, object → map[string]interface {},
 * null → nil, undefined → an invalid value ("<no value>").
 * The rest of fmt lives beside it, one file per kind of output: go-float.ts
 * (strconv.FormatFloat), go-quote.ts (strconv.Quote), go-sprintf.ts (Sprintf),
 * go-json.ts (encoding/json).
 */
import { formatFloat } from './go-float.js';

/** Go type name of a JS value, as fmt and text/template print it in messages. */
export function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'int';
    case 'number':
      return isInt(v) ? 'int' : 'float64';
    case 'function':
      return 'func()';
  }
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

/** Whether a value stands for a Go int (integral and within int64; larger ones are float64). */
export function isInt(v: unknown): v is number | bigint {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 63);
}

export const intText = (v: number | bigint): string => (typeof v === 'bigint' ? v.toString() : BigInt(v).toString());

/**
 * Whether an object stands for a Go struct rather than a map. JSON can't say, so guess as
 * the docker API's shapes suggest: struct fields are identifiers and (nearly always) some
 * start with a capital; map keys (labels, networks, ports, volumes) rarely look like that.
 * Structs keep their field order in JSON and print as {v1 v2}; maps sort and print map[k:v].
 */
export function isStructLike(o: object): boolean {
  const keys = Object.keys(o);
  return keys.length > 0 && keys.some((k) => /^[A-Z]/.test(k)) && keys.every((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k));
}

/** Keys of a JS object in the order Go's fmt/text/template sort map keys (bytewise). */
export function sortedKeys(o: object): string[] {
  return Object.keys(o).sort(byteCompare);
}

export function byteCompare(a: string, b: string): number {
  if (a === b) return 0;
  // Plain UTF-16 comparison equals UTF-8 byte order except around surrogates.
  if (!/[\ud800-\udfff]/.test(a + b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

// ---------------------------------------------------------------- %v

/** A number as Go's %v prints it: integers plainly, other floats like %g shortest. */
export function formatNumber(n: number | bigint): string {
  if (isInt(n)) return intText(n);
  return formatFloat(n, 'g', -1);
}

/** fmt's %v of a value (top-level undefined is handled by the caller). */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
    case 'bigint':
      return formatNumber(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'function':
      return '0x0';
  }
  if (Array.isArray(v)) return '[' + v.map(formatValue).join(' ') + ']';
  if (v instanceof Date) return formatValue(v.toISOString());
  const o = v as Record<string, unknown>;
  if (isStructLike(o))
    return (
      '{' +
      Object.keys(o)
        .map((k) => formatValue(o[k]))
        .join(' ') +
      '}'
    );
  return (
    'map[' +
    sortedKeys(o)
      .map((k) => k + ':' + formatValue(o[k]))
      .join(' ') +
    ']'
  );
}

/** fmt.Sprint: spaces between operands when neither is a string. */
export function sprint(args: unknown[]): string {
  let out = '';
  let prevString = false;
  args.forEach((a, i) => {
    const isString = typeof a === 'string';
    if (i > 0 && !isString && !prevString) out += ' ';
    out += formatValue(a);
    prevString = isString;
  });
  return out;
}

/** fmt.Sprintln: always spaces, plus a trailing newline. */
export function sprintln(args: unknown[]): string {
  return args.map(formatValue).join(' ') + '\n';
}
