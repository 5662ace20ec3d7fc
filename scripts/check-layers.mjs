#!/usr/bin/env node
/**
 * The layer check: every import between Berth's own source files must follow the
 * layer table of the architecture map (a module imports only from its own folder or
 * from layers below it), and no files may import each other in a circle.
 *
 *     node scripts/check-layers.mjs [root]        root defaults to src
 *
 * Reads every *.ts (and the console's *.tsx) file under root with TypeScript's parser (already a dev
 * dependency), so every import counts: static, `import type`, `export … from`,
 * dynamic `import()` and `import('…').T` type references — a type-only import
 * still couples two layers. Package and `node:` imports are not checked.
 * Prints each violation (file → import, the rule it breaks) and each circle (a
 * strongly connected component of the file import graph, with one cycle through
 * it), then `layers: N files, N imports, N violations, N circles`; exits 1 when
 * there is any violation or circle.
 */
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join, dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The layer table, one entry per top-level folder under root. `layer`: a folder
 * imports from its own files and from folders of a lower layer. `only`: a folder
 * with a narrower rule imports only from these folders. `never`: folders a lower
 * layer number would allow but the architecture forbids. A folder not listed here
 * is a violation until it is given a row.
 */
export const LAYERS = {
  core: { layer: 1 },
  content: { layer: 2 },
  archive: { layer: 2 },
  snapshots: { layer: 3 },
  runtime: { layer: 3 },
  network: { layer: 3 },
  distribution: { layer: 3 },
  // The Dockerfile parser and evaluator's pure parts, used by engine/build and the CLI;
  // a parser needs errors (core) and tar trees of the context (archive), nothing else.
  dockerfile: { layer: 3, only: ['core', 'archive'] },
  // The registry server stands beside the engine, never on it: layers 1–2, plus the registry
  // client beside it in layer 3 (its pull-through cache and replication talk to other registries).
  registry: { layer: 3, only: ['core', 'content', 'archive', 'distribution'] },
  engine: { layer: 4 },
  api: { layer: 5 },
  // A typed client of the Engine API: it speaks HTTP to the daemon and never runs engine code.
  client: { layer: 5, never: ['engine'] },
  // The CLI is an API client like the docker CLI: never engine/, nor api/ (the server side of the wire).
  cli: { layer: 6, never: ['engine', 'api'] },
  // The web dashboard talks to the API like the CLI does.
  ui: { layer: 6, never: ['engine', 'api'] },
  // The web console (server and its browser code) is a client of the API like the CLI: core/ and client/ only.
  console: { layer: 6, only: ['core', 'client'] },
  // The entry point wires everything together: it may import anything.
  daemon: { layer: 7 },
};

/** Why an import from folder `from` to folder `to` is not allowed, or undefined when it is. */
export function ruleBroken(from, to) {
  if (from === to) return undefined;
  const a = LAYERS[from];
  const b = LAYERS[to];
  if (!a) return `${from}/ is not in the layer table`;
  if (!b) return `${to}/ is not in the layer table`;
  if (a.only) return a.only.includes(to) ? undefined : `${from}/ may import only ${a.only.map((f) => `${f}/`).join(', ')}`;
  if (a.never?.includes(to)) return `${from}/ never imports ${to}/`;
  if (b.layer >= a.layer) {
    return `${from}/ (layer ${a.layer}) imports only from layers below ${a.layer}; ${to}/ is layer ${b.layer}`;
  }
  return undefined;
}

/** Every *.ts and *.tsx file under dir (declaration files included: they import too). */
function sourceFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((x, y) => x.name.localeCompare(y.name))) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(p));
    else if (entry.isFile() && /\.(m?ts|tsx)$/.test(entry.name)) out.push(p);
  }
  return out;
}

/** Module specifiers a file imports, each with its kind: static, type, dynamic. */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found = [];
  const add = (node, kind) => {
    if (node && ts.isStringLiteralLike(node)) found.push({ spec: node.text, kind, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1 });
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node)) {
      const c = node.importClause;
      const named = c?.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : [];
      const typeOnly = !!c && (c.isTypeOnly || (!c.name && named.length > 0 && named.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier, typeOnly ? 'type' : 'static');
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly ? 'type' : 'static');
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly ? 'type' : 'static');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], 'dynamic');
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, 'type');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The file a relative specifier names (NodeNext: `./x.js` is `./x.ts`), or undefined. */
function resolveImport(fromFile, spec) {
  const base = resolve(dirname(fromFile), spec);
  const candidates = [base.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts'), base.replace(/\.js$/, '.tsx'), base, `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/** Strongly connected components with more than one file, or one file importing itself (Tarjan). */
function circles(graph) {
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const strongConnect = (v) => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)) {
      if (!index.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v).has(v)) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) strongConnect(v);
  return found;
}

/** A shortest cycle from the component's first file back to itself, to show where to cut. */
function oneCycle(graph, component) {
  const inside = new Set(component);
  const start = component[0];
  const prev = new Map();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of graph.get(v)) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const path = [];
        for (let u = v; u !== start; u = prev.get(u)) path.unshift(u);
        return [start, ...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** Checks every file under root; returns what it found, printing nothing. */
export function checkLayers(root) {
  const files = sourceFiles(root);
  const folderOf = (file) => {
    const parts = relative(root, file).split(sep);
    return parts.length > 1 ? parts[0] : '(root)';
  };
  const graph = new Map(files.map((f) => [f, new Set()]));
  const violations = [];
  let imports = 0;
  for (const file of files) {
    for (const { spec, kind, line } of importsOf(file)) {
      if (!spec.startsWith('.')) continue;
      imports++;
      const target = resolveImport(file, spec);
      const where = `${relative(process.cwd(), file)}:${line}`;
      if (!target) {
        violations.push({ file: where, spec, kind, rule: 'the import names no file' });
        continue;
      }
      const rel = relative(root, target);
      if (rel.startsWith('..')) {
        violations.push({ file: where, spec, kind, rule: `imports from outside ${relative(process.cwd(), root) || '.'}/` });
        continue;
      }
      if (graph.has(target)) graph.get(file).add(target);
      const rule = ruleBroken(folderOf(file), folderOf(target));
      if (rule) violations.push({ file: where, spec, kind, rule });
    }
  }
  const found = circles(graph).map((component) => ({ files: component, cycle: oneCycle(graph, component) }));
  return { files: files.length, imports, violations, circles: found };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? 'src');
  const show = (f) => relative(process.cwd(), f);
  const r = checkLayers(root);
  for (const v of r.violations) console.log(`violation: ${v.file} → ${v.spec}${v.kind === 'static' ? '' : ` (${v.kind})`}: ${v.rule}`);
  for (const c of r.circles) {
    console.log(`circle of ${c.files.length} files: ${c.files.map(show).join(', ')}`);
    console.log(`  e.g. ${c.cycle.map(show).join(' → ')}`);
  }
  console.log(`layers: ${r.files} files, ${r.imports} imports, ${r.violations.length} violations, ${r.circles.length} circles`);
  process.exit(r.violations.length || r.circles.length ? 1 : 0);
}
