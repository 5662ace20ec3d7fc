#!/usr/bin/env node
/**
 * Regenerate test/differential/endpoints.json, the list of every path and
 * method of the Engine API, from moby's swagger (api/docs/v1.47.yaml):
 *
 *     node scripts/gen-api-endpoints.mjs path/to/v1.47.yaml
 *
 * Each entry carries a mark kept by hand: "implemented", or "off: <why>" for an
 * endpoint berthd answers as dockerd does when that feature is off (swarm on a
 * node outside a swarm). Regenerating keeps the marks already written; a new
 * endpoint comes in as "unmarked", which the differential suite refuses.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'differential', 'endpoints.json');
const METHODS = ['get', 'head', 'post', 'put', 'delete'];

const src = process.argv[2];
if (!src) { console.error('usage: gen-api-endpoints.mjs <swagger.yaml>'); process.exit(2); }
const swagger = parse(readFileSync(src, 'utf8'));
const previous = existsSync(OUT) ? JSON.parse(readFileSync(OUT, 'utf8')) : { endpoints: [] };
const marks = new Map(previous.endpoints.map((e) => [`${e.method} ${e.path}`, e.mark]));

const endpoints = [];
for (const [path, ops] of Object.entries(swagger.paths)) {
  for (const method of METHODS) {
    const op = ops[method];
    if (!op) continue;
    const key = `${method.toUpperCase()} ${path}`;
    endpoints.push({ method: method.toUpperCase(), path, operationId: op.operationId, tag: (op.tags ?? [])[0] ?? '', mark: marks.get(key) ?? 'unmarked' });
  }
}
// One endpoint per line, so a diff of the list reads as a list.
const lines = endpoints.map((e) => '  ' + JSON.stringify(e)).join(',\n');
writeFileSync(OUT, `{\n "apiVersion": ${JSON.stringify(String(swagger.info?.version ?? ''))},\n "endpoints": [\n${lines}\n ]\n}\n`);
console.log(`${endpoints.length} endpoints → ${OUT}`);
