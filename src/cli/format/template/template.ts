/**
 * The Template class callers use: parse once (lex.ts, parse.ts) with the
 * builtins of funcs.ts plus the caller's functions, then execute (exec.ts) over
 * many values. Turns the internal parse and exec errors into TemplateError.
 */
import { Exec, ExecError } from './exec.js';
import { BUILTINS, HEADER_FUNCS, HEADER_PARAMS, type TemplateFunc } from './funcs.js';
import { lex } from './lex.js';
import type { Node } from './ast.js';
import { ParseError, Parser } from './parse.js';

export interface TemplateOptions {
  /** Template name shown in messages (`template: NAME:1: …`); docker uses "" for most commands. */
  name?: string;
  /** Go's missingkey option: "default" (<no value>), "zero" (same for untyped data) or "error". */
  missingKey?: 'default' | 'zero' | 'error';
  /**
   * Names the Go struct type an object stands for, making a missing field an error
   * (`can't evaluate field X in type T`) instead of a map's <no value>.
   */
  structType?: (obj: object) => string | undefined;
}

/** Thrown for bad templates (kind "parse") and failed executions (kind "exec"). */
export class TemplateError extends Error {
  /** Go's own text, e.g. `template: :1: function "foo" not defined`. */
  readonly goMessage: string;
  readonly kind: 'parse' | 'exec';
  /** For exec errors: what had been written before the failure. */
  partial = '';
  constructor(kind: 'parse' | 'exec', goMessage: string, prefix = 'template parsing error: ') {
    super(prefix + goMessage);
    this.name = 'TemplateError';
    this.kind = kind;
    this.goMessage = goMessage;
  }
}

/** A parsed template that can be executed many times, with the default or other function sets. */
export class Template {
  private constructor(
    private readonly src: string,
    private readonly tree: Node[],
    private readonly defs: Map<string, Node[]>,
    private readonly funcs: Record<string, TemplateFunc>,
    private readonly specs: Record<string, string>,
    private readonly opts: TemplateOptions & { name: string; missingKey: 'default' | 'zero' | 'error' },
  ) {}

  /** Parse `src`; throws TemplateError (kind "parse", message `template parsing error: template: …`). */
  static parse(src: string, funcs: Record<string, TemplateFunc> = {}, options: TemplateOptions = {}): Template {
    const opts = { ...options, name: options.name ?? '', missingKey: options.missingKey ?? 'default' };
    const all: Record<string, TemplateFunc> = {};
    const specs: Record<string, string> = {};
    for (const [k, b] of Object.entries(BUILTINS)) {
      all[k] = b.fn;
      specs[k] = b.params;
    }
    for (const [k, f] of Object.entries(funcs)) {
      all[k] = f;
      delete specs[k];
    }
    const has = (n: string) => Object.hasOwn(all, n);
    try {
      const parser = new Parser(lex(src), opts.name, has);
      const tree = parser.parse();
      return new Template(src, tree, parser.defs, all, specs, opts);
    } catch (e) {
      if (e instanceof ParseError) throw new TemplateError('parse', e.message);
      throw e;
    }
  }

  /**
   * Run the template over `data`. Throws TemplateError (kind "exec") whose `partial`
   * holds what was written before the failure. `overrides` replaces functions by name
   * (used for docker's table headers).
   */
  execute(
    data: unknown,
    overrides?: Record<string, TemplateFunc>,
    overrideSpecs?: Record<string, string>,
    structType?: (o: object) => string | undefined,
  ): string {
    let funcs = this.funcs;
    let specs = this.specs;
    if (overrides) {
      funcs = { ...this.funcs, ...overrides };
      specs = { ...this.specs };
      for (const k of Object.keys(overrides)) {
        if (overrideSpecs?.[k]) specs[k] = overrideSpecs[k];
        else delete specs[k];
      }
    }
    const ex = new Exec(this.src, this.opts.name, funcs, specs, this.opts.missingKey, structType ?? this.opts.structType, this.defs, data);
    try {
      ex.walk(data, this.tree);
    } catch (e) {
      if (e instanceof ExecError) {
        const err = new TemplateError('exec', e.message);
        err.partial = ex.out;
        throw err;
      }
      throw e;
    }
    return ex.out;
  }

  /** Execute with docker's header functions (json/upper/… return their argument). */
  executeHeader(header: unknown): string {
    return this.execute(header, HEADER_FUNCS, HEADER_PARAMS);
  }
}

/** Compile a Go template; the returned function renders it over a value. */
export function compileTemplate(src: string, funcs?: Record<string, TemplateFunc>, options?: TemplateOptions): (data: unknown) => string {
  const t = Template.parse(src, funcs, options);
  return (data: unknown) => t.execute(data);
}
