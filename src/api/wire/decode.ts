/**
 * Request bodies decoded as dockerd's Go JSON decoding does, at the API edge:
 * a body of the wrong wire type is a 400 in Go's words ("json: cannot
 * unmarshal string into Go struct field ExecOptions.Cmd of type []string"),
 * never a 500 from deep in the engine. The types come from moby's swagger
 * (engine-api.schema.json, made by scripts/gen-api-schema.mjs) and are checked
 * by ajv. What Go's decoder accepts is accepted: unknown keys, keys in any
 * letter case, and null anywhere (a no-op in Go: the field keeps its zero
 * value, which is what the engine then sees). Values are not judged here —
 * a CPU count too large for the host is the engine's call.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { InvalidArgumentError } from '../../core/errors.js';
import api from './engine-api.schema.json' with { type: 'json' };

export type Operation = keyof typeof api.operations;

interface Node {
  $ref?: string;
  type?: string | string[];
  goInt?: string;
  properties?: Record<string, Node>;
  items?: Node;
  additionalProperties?: Node;
  allOf?: Node[];
}

const DEFS = api.definitions as Record<string, Node>;

/** The ranges of Go's integer kinds, as exact integers. */
const INT_RANGE: Record<string, [bigint, bigint]> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint8: [0n, 255n],
  uint16: [0n, 65535n],
  uint32: [0n, 2n ** 32n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

/**
 * Number literals of the body being checked, by the value JSON.parse gave
 * them: a double cannot tell 2^63 (too big for int64) from 2^63-1, the text can.
 * Set for the duration of one synchronous validation.
 */
let literals = new Map<number, string[]>();

function literalOf(v: number): string {
  return literals.get(v)?.[0] ?? String(v);
}

/** Whether some literal that parsed to `v` fits Go's integer kind `kind` (Go refuses 1e3 and 1.0 for ints). */
function fitsInt(v: number, kind: string): boolean {
  const [lo, hi] = INT_RANGE[kind] ?? INT_RANGE.int64!;
  const texts = literals.get(v) ?? [String(v)];
  return texts.some((t) => /^-?\d+$/.test(t) && BigInt(t) >= lo && BigInt(t) <= hi);
}

const ajv = new Ajv({ strict: true, strictTypes: false, allowUnionTypes: true, verbose: true });
ajv.addKeyword({
  keyword: 'goInt',
  type: 'number',
  schemaType: 'string',
  validate: function goInt(kind: string, v: number) {
    return fitsInt(v, kind);
  },
  errors: false,
});

const compiled = new Map<Operation, ValidateFunction>();
function validator(op: Operation): ValidateFunction {
  let v = compiled.get(op);
  if (!v) {
    v = ajv.compile({ ...api.operations[op].schema, definitions: DEFS });
    compiled.set(op, v);
  }
  return v;
}

/** A schema node with its $ref followed and its allOf parts merged into one set of properties. */
function resolve(node: Node | undefined): Node {
  if (!node) return {};
  if (node.$ref) return resolve(DEFS[node.$ref.replace('#/definitions/', '')]);
  if (!node.allOf) return node;
  const properties: Record<string, Node> = { ...node.properties };
  let type = node.type;
  for (const part of node.allOf.map(resolve)) {
    Object.assign(properties, part.properties);
    type ??= part.type;
  }
  return { ...node, type, properties };
}

function hasType(node: Node, t: string): boolean {
  return Array.isArray(node.type) ? node.type.includes(t) : node.type === t;
}

/** What Go leaves in a field of this type when the JSON says null. */
function zero(node: Node): unknown {
  const n = resolve(node);
  const t = Array.isArray(n.type) ? n.type[0] : n.type;
  switch (t) {
    case 'string':
      return '';
    case 'integer':
    case 'number':
      return 0;
    case 'boolean':
      return false;
    case 'array':
      return [];
    default:
      return {};
  }
}

/**
 * Go's decoding of what the schema knows: null fields dropped (the zero value),
 * null list elements and map values replaced by their zero value, and struct
 * keys matched to the field name case-insensitively.
 */
function normalize(value: unknown, node: Node | undefined): unknown {
  const n = resolve(node);
  // strslice.StrSlice: a bare string is a list of one.
  if (typeof value === 'string' && hasType(n, 'array') && hasType(n, 'string')) return [value];
  if (Array.isArray(value)) {
    if (!hasType(n, 'array')) return value;
    return value.map((el) => (el === null ? zero(n.items ?? {}) : normalize(el, n.items)));
  }
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const props = n.properties;
  const byLower = new Map(Object.keys(props ?? {}).map((k) => [k.toLowerCase(), k]));
  for (const [key, v] of Object.entries(obj)) {
    // Never a key that would set the prototype of what the engine receives.
    if (key === '__proto__') continue;
    if (props) {
      // As in Go, each key in turn sets the field it names in any case: the last one wins.
      const field = Object.hasOwn(props, key) ? key : byLower.get(key.toLowerCase());
      if (field === undefined) {
        if (v !== null) out[key] = v;
        continue;
      }
      if (v === null) continue;
      out[field] = normalize(v, props[field]);
    } else if (n.additionalProperties) {
      out[key] = v === null ? zero(n.additionalProperties) : normalize(v, n.additionalProperties);
    } else {
      out[key] = v;
    }
  }
  return out;
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

/** Go's name for the type a schema node decodes into. */
function goType(node: Node | undefined): string {
  if (!node) return 'interface {}';
  if (node.$ref) return node.$ref.replace('#/definitions/', '');
  if (Array.isArray(node.type) && node.type.includes('array') && node.type.includes('string')) return 'strslice.StrSlice';
  const n = resolve(node);
  if (hasType(n, 'string')) return 'string';
  if (hasType(n, 'boolean')) return 'bool';
  if (hasType(n, 'integer')) return n.goInt ?? 'int64';
  if (hasType(n, 'number')) return 'float64';
  if (hasType(n, 'array')) return '[]' + goType(n.items);
  if (n.additionalProperties && !n.properties) return 'map[string]' + goType(n.additionalProperties);
  return 'struct';
}

function valueAt(root: unknown, path: string[]): unknown {
  let v = root;
  for (const seg of path) v = (v as Record<string, unknown>)?.[seg];
  return v;
}

/**
 * Go names a field by the innermost struct being decoded and the struct
 * fields leading to it from the top; list indices and map keys are not fields.
 */
function fieldPath(root: Node, path: string[], rootName: string): { fields: string[]; struct: string } {
  const fields: string[] = [];
  let struct = rootName;
  let node: Node | undefined = root;
  for (const seg of path) {
    if (node?.$ref) struct = node.$ref.replace('#/definitions/', '');
    const n = resolve(node);
    if (n.properties && Object.hasOwn(n.properties, seg)) {
      fields.push(seg);
      node = n.properties[seg];
    } else if (hasType(n, 'array') && /^\d+$/.test(seg)) node = n.items;
    else node = n.additionalProperties;
  }
  return { fields, struct };
}

/** The first schema error as dockerd's decoder words it. */
function goMessage(op: Operation, err: ErrorObject, data: unknown): string {
  const path = err.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const value = valueAt(data, path);
  const node = err.parentSchema as Node | undefined;
  let what = jsonKind(value);
  if (typeof value === 'number' && node && hasType(node, 'integer')) what = `number ${literalOf(value)}`;
  const type = goType(node);
  const { fields, struct } = fieldPath(api.operations[op].schema as Node, path, api.operations[op].goName);
  if (fields.length === 0) return `json: cannot unmarshal ${what} into Go value of type ${api.operations[op].goName}`;
  return `json: cannot unmarshal ${what} into Go struct field ${struct}.${fields.join('.')} of type ${type}`;
}

/** Every number literal in a JSON text outside strings, keyed by the double it parses to. */
function numberLiterals(text: string): Map<number, string[]> {
  const out = new Map<number, string[]>();
  const re = /"(?:[^"\\]|\\.)*"|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[1] === undefined) continue;
    const v = Number(m[1]);
    const list = out.get(v);
    if (list) list.push(m[1]);
    else out.set(v, [m[1]]);
  }
  return out;
}

/** Parse a JSON request body for `op`: 400 for bad JSON or wrong wire types; an empty or null body is `{}`. */
export function decodeBody<T>(op: Operation, raw: Buffer): T {
  if (raw.length === 0) return {} as T;
  const text = raw.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new InvalidArgumentError(`invalid JSON: ${(e as Error).message}`);
  }
  if (parsed === null) return {} as T;
  const root = api.operations[op].schema as Node;
  const data = normalize(parsed, root);
  const validate = validator(op);
  literals = numberLiterals(text);
  try {
    if (!validate(data)) throw new InvalidArgumentError(goMessage(op, validate.errors![0]!, data));
  } finally {
    literals = new Map();
  }
  return data as T;
}

/** The properties a definition has (for "was any of its fields given?"). */
export function fieldsOf(definition: keyof typeof api.definitions): string[] {
  return Object.keys(resolve(DEFS[definition]).properties ?? {});
}
