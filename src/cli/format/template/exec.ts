/**
 * The executor of the Go text/template work-alike: walks the tree of ast.ts over
 * a value, following Go's rules for fields, methods, maps (sorted keys),
 * variables, if/with/range/else, break/continue, {{template}}, argument checks
 * and missingkey, and builds Go's execution errors
 * ("template: NAME:LINE:COL: executing "NAME" at <…>: …").
 *
 * Over 400 lines because Go's executor is one recursive walk (exec.go) whose node cases share its state and error context.
 */
import { formatValue, goTypeName, isInt, sortedKeys } from '../gofmt.js';
import { goQuote } from '../go-quote.js';
import { argString, type Arg, type Cmd, type ControlNode, type Node, type Pipe } from './ast.js';
import { BUILTINS, MISSING, truth, type TemplateFunc } from './funcs.js';
import { countNL } from './lex.js';

const NO_FINAL = Symbol('noFinal');
type Final = unknown | typeof NO_FINAL;

export class ExecError extends Error {}
class BreakSignal {}
class ContinueSignal {}

const GO_PARAM_TYPE: Record<string, string> = { s: 'string', i: 'int', S: '[]string', a: 'interface {}' };

interface Frame {
  name: string;
  value: unknown;
}

export class Exec {
  private vars: Frame[];
  private node: { pos: number; str: string } = { pos: 0, str: '' };
  private current: string;
  private depth = 0;
  out = '';

  constructor(
    private readonly src: string,
    private readonly name: string,
    private readonly funcs: Record<string, TemplateFunc>,
    private readonly specs: Record<string, string>,
    private readonly missingKey: 'default' | 'zero' | 'error',
    private readonly structType: ((o: object) => string | undefined) | undefined,
    private readonly defs: Map<string, Node[]>,
    root: unknown,
  ) {
    this.vars = [{ name: '$', value: root }];
    this.current = name;
  }

  private at(n: { pos: number }, str: string) {
    this.node = { pos: n.pos, str };
  }

  errorf(msg: string): never {
    const before = this.src.slice(0, this.node.pos);
    const nl = before.lastIndexOf('\n');
    const lineNum = countNL(before) + 1;
    const col = Buffer.byteLength(nl < 0 ? before : before.slice(nl + 1), 'utf8');
    throw new ExecError(`template: ${this.name}:${lineNum}:${col}: executing ${goQuote(this.current)} at <${this.node.str}>: ${msg}`);
  }

  walk(dot: unknown, list: Node[]): void {
    for (const n of list) this.walkNode(dot, n);
  }

  private walkNode(dot: unknown, n: Node): void {
    switch (n.k) {
      case 'text':
        this.out += n.text;
        return;
      case 'action': {
        const v = this.evalPipeline(dot, n.pipe);
        if (n.pipe.decl.length === 0) this.printValue(n.pipe, v);
        return;
      }
      case 'if':
      case 'with': {
        const mark = this.vars.length;
        try {
          const v = this.evalPipeline(dot, n.pipe);
          if (truth(v)) this.walk(n.k === 'with' ? v : dot, n.list);
          else if (n.elseList) this.walk(dot, n.elseList);
        } finally {
          this.vars.length = mark;
        }
        return;
      }
      case 'range':
        this.walkRange(dot, n);
        return;
      case 'template': {
        this.at(n, `{{template ${goQuote(n.name)}${n.pipe ? ' ' + argString(n.pipe) : ''}}}`);
        const body = this.defs.get(n.name);
        if (!body) this.errorf(`template ${goQuote(n.name)} not defined`);
        // Go allows 100000 levels; a JS stack holds far fewer, so stop earlier with Go's message
        if (this.depth >= 1000) this.errorf('exceeded maximum template depth (100000)');
        const value = n.pipe ? this.evalPipeline(dot, n.pipe) : MISSING;
        const [vars, current] = [this.vars, this.current];
        this.vars = [{ name: '$', value }];
        this.current = n.name;
        this.depth++;
        try {
          this.walk(value, body);
        } finally {
          this.vars = vars;
          this.current = current;
          this.depth--;
        }
        return;
      }
      case 'break':
        throw new BreakSignal();
      case 'continue':
        throw new ContinueSignal();
    }
  }

  private walkRange(dot: unknown, r: ControlNode): void {
    this.at(r, argString(r.pipe));
    const mark0 = this.vars.length;
    try {
      const val = this.evalPipeline(dot, r.pipe);
      const mark = this.vars.length;
      const decl = r.pipe.decl;
      const one = (index: unknown, elem: unknown): boolean => {
        if (decl.length > 0) {
          if (r.pipe.isAssign) this.setVar(decl.length > 1 ? decl[0] : decl[0], decl.length > 1 ? index : elem);
          else this.vars[this.vars.length - 1].value = elem;
        }
        if (decl.length > 1) {
          if (r.pipe.isAssign) this.setVar(decl[1], elem);
          else this.vars[this.vars.length - 2].value = index;
        }
        try {
          this.walk(elem, r.list);
        } catch (e) {
          if (e instanceof BreakSignal) return false;
          if (!(e instanceof ContinueSignal)) throw e;
        } finally {
          this.vars.length = mark;
        }
        return true;
      };
      let iterated = false;
      if (Array.isArray(val)) {
        for (let i = 0; i < val.length; i++) {
          iterated = true;
          if (!one(i, val[i])) break;
        }
      } else if (isInt(val)) {
        if (decl.length > 1) {
          this.at(r, argString(r.pipe));
          this.errorf(`can't use ${formatValue(val)} to iterate over more than one variable`);
        }
        for (let i = 0; i < Number(val); i++) {
          iterated = true;
          if (!one(i, i)) break;
        }
      } else if (val !== null && val !== undefined && typeof val === 'object' && !(val instanceof Date)) {
        const o = val as Record<string, unknown>;
        for (const k of sortedKeys(o)) {
          iterated = true;
          if (!one(k, o[k])) break;
        }
      } else if (val !== null && val !== undefined) {
        const last = r.pipe.cmds[r.pipe.cmds.length - 1].args[0];
        this.at(last, argString(last));
        this.errorf(`range can't iterate over ${formatValue(val)}`);
      }
      if (!iterated && r.elseList) this.walk(dot, r.elseList);
    } finally {
      this.vars.length = mark0;
    }
  }

  private setVar(name: string, value: unknown) {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  private varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    this.errorf(`undefined variable: ${name}`);
  }

  private printValue(p: Pipe, v: unknown) {
    if (v === undefined) {
      this.out += '<no value>';
      return;
    }
    if (typeof v === 'function') {
      this.at(p, argString(p));
      this.errorf(`can't print ${argString(p)} of type func()`);
    }
    this.out += formatValue(v);
  }

  evalPipeline(dot: unknown, pipe: Pipe): unknown {
    this.at(pipe, argString(pipe));
    let value: Final = NO_FINAL;
    for (const cmd of pipe.cmds) value = this.evalCommand(dot, cmd, value);
    if (value === NO_FINAL) value = MISSING;
    for (const name of pipe.decl) {
      if (pipe.isAssign) this.setVar(name, value);
      else this.vars.push({ name, value });
    }
    return value;
  }

  private notAFunction(args: Arg[], final: Final) {
    if (args.length > 1 || final !== NO_FINAL) this.errorf(`can't give argument to non-function ${argString(args[0])}`);
  }

  private evalCommand(dot: unknown, cmd: Cmd, final: Final): unknown {
    const first = cmd.args[0];
    switch (first.k) {
      case 'field':
        this.at(first, argString(first));
        return this.evalFieldChain(dot, dot, first, first.idents, cmd.args, final);
      case 'chain':
        return this.evalChain(dot, first, cmd.args, final);
      case 'ident':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.at(first, argString(first));
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'var':
        return this.evalVariable(dot, first, cmd.args, final);
    }
    this.at(first, argString(first));
    this.notAFunction(cmd.args, final);
    switch (first.k) {
      case 'bool':
        return first.val;
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
      // falls through (never reached)
      case 'number':
        return first.val;
      case 'string':
        return first.val;
    }
  }

  private evalChain(dot: unknown, chain: Extract<Arg, { k: 'chain' }>, args: Arg[], final: Final): unknown {
    this.at(chain, argString(chain));
    if (chain.node.k === 'nil') this.errorf(`indirection through explicit nil in ${argString(chain)}`);
    const recv = this.evalArg(dot, 'a', chain.node);
    this.at(chain, argString(chain));
    return this.evalFieldChain(dot, recv, chain, chain.idents, args, final);
  }

  private evalVariable(dot: unknown, v: Extract<Arg, { k: 'var' }>, args: Arg[], final: Final): unknown {
    this.at(v, argString(v));
    const value = this.varValue(v.idents[0]);
    if (v.idents.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.idents.slice(1), args, final);
  }

  private evalFieldChain(dot: unknown, recv: unknown, node: Arg, idents: string[], args: Arg[], final: Final): unknown {
    const str = argString(node);
    for (let i = 0; i < idents.length - 1; i++) recv = this.evalField(dot, idents[i], node, str, [], NO_FINAL, recv);
    return this.evalField(dot, idents[idents.length - 1], node, str, args, final, recv);
  }

  private evalField(dot: unknown, name: string, node: Arg, str: string, args: Arg[], final: Final, recv: unknown): unknown {
    if (recv === undefined) {
      if (this.missingKey === 'error') {
        this.at(node, str);
        this.errorf(`nil data; no entry for key ${goQuote(name)}`);
      }
      return MISSING;
    }
    if (recv === null) {
      // Go errors on a nil pointer/interface but yields <no value> for a nil map; JSON can't
      // tell them apart, so be lenient unless asked for strictness.
      if (this.missingKey === 'error') {
        this.at(node, str);
        this.errorf(`nil pointer evaluating interface {}.${name}`);
      }
      return MISSING;
    }
    const hasArgs = args.length > 1 || final !== NO_FINAL;
    if (Array.isArray(recv)) {
      this.at(node, str);
      this.errorf(`can't evaluate field ${name} in type []interface {}`);
    }
    if (typeof recv === 'object' && !(recv instanceof Date)) {
      const o = recv as Record<string, unknown>;
      const own = Object.hasOwn(o, name);
      const inherited = !own && Object.getPrototypeOf(o) !== Object.prototype && Object.getPrototypeOf(o) !== null && name in o && !(name in Object.prototype);
      if (own || inherited) {
        const v = o[name];
        if (typeof v === 'function') return this.evalCall(dot, (...a: unknown[]) => (v as TemplateFunc).apply(o, a), null, node, name, args, final);
        if (hasArgs) {
          this.at(node, str);
          this.errorf(`${name} is not a method but has arguments`);
        }
        return v;
      }
      const st = this.structType?.(o);
      if (st !== undefined) {
        this.at(node, str);
        this.errorf(`can't evaluate field ${name} in type ${st}`);
      }
      if (hasArgs) {
        this.at(node, str);
        this.errorf(`${name} is not a method but has arguments`);
      }
      if (this.missingKey === 'error') {
        this.at(node, str);
        this.errorf(`map has no entry for key ${goQuote(name)}`);
      }
      return MISSING;
    }
    this.at(node, str);
    this.errorf(`can't evaluate field ${name} in type ${goTypeName(recv)}`);
  }

  private evalFunction(dot: unknown, id: Extract<Arg, { k: 'ident' }>, cmd: Cmd, args: Arg[], final: Final): unknown {
    this.at(id, id.name);
    const f = this.funcs[id.name];
    if (!f) this.errorf(`${goQuote(id.name)} is not a defined function`);
    return this.evalCall(dot, f, this.specs[id.name] ?? null, cmd, id.name, args, final);
  }

  /** Evaluate an argument node, checking it against a parameter kind (s, i, S, a). */
  private evalArg(dot: unknown, kind: string, n: Arg): unknown {
    this.at(n, argString(n));
    let v: unknown;
    switch (n.k) {
      case 'dot':
        v = dot;
        break;
      case 'nil':
        if (kind === 'a' || kind === 'S') return null;
        this.errorf(`cannot assign nil to ${GO_PARAM_TYPE[kind]}`);
      // falls through (never reached)
      case 'field':
        v = this.evalFieldChain(dot, dot, n, n.idents, [n], NO_FINAL);
        break;
      case 'var':
        v = this.evalVariable(dot, n, [], NO_FINAL);
        break;
      case 'pipe':
        v = this.evalPipeline(dot, n);
        break;
      case 'ident':
        v = this.evalFunction(dot, n, { k: 'cmd', pos: n.pos, args: [n] }, [n], NO_FINAL);
        break;
      case 'chain':
        v = this.evalChain(dot, n, [], NO_FINAL);
        break;
      default:
        // literals are checked against the parameter type by their syntax
        switch (kind) {
          case 's':
            if (n.k === 'string') return n.val;
            this.errorf(`expected string; found ${argString(n)}`);
          // falls through (never reached)
          case 'i':
            if (n.k === 'number' && !n.isFloat) return n.val;
            this.errorf(`expected integer; found ${argString(n)}`);
          // falls through (never reached)
          case 'S':
            this.errorf(`can't handle ${argString(n)} for arg of type []string`);
          // falls through (never reached)
          default:
            return n.k === 'bool' || n.k === 'number' || n.k === 'string' ? n.val : undefined;
        }
    }
    this.at(n, argString(n));
    return this.validate(v, kind);
  }

  private validate(v: unknown, kind: string): unknown {
    if (kind === 'a') return v === undefined ? null : v;
    if (v === undefined || (v === null && kind !== 'S')) this.errorf(`invalid value; expected ${GO_PARAM_TYPE[kind]}`);
    switch (kind) {
      case 's':
        if (typeof v === 'string') return v;
        break;
      case 'i':
        if (isInt(v)) return Number(v);
        break;
      case 'S':
        if (v === null) return [];
        if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
        break;
    }
    this.errorf(`wrong type for value; expected ${GO_PARAM_TYPE[kind]}; got ${goTypeName(v)}`);
  }

  private evalCall(dot: unknown, fn: TemplateFunc, spec: string | null, node: Arg | Cmd, name: string, args: Arg[], final: Final): unknown {
    const argNodes = args.slice(1);
    const nargs = argNodes.length + (final !== NO_FINAL ? 1 : 0);
    const nodeStr = argString(node);
    let values: unknown[];
    if (spec !== null) {
      const variadic = spec.endsWith('*');
      const kinds = variadic ? spec.slice(0, -1) : spec;
      const fixed = variadic ? kinds.length - 1 : kinds.length;
      if (variadic ? nargs < fixed : nargs !== fixed) {
        this.errorf(`wrong number of args for ${name}: want ${variadic ? 'at least ' : ''}${fixed} got ${variadic ? argNodes.length : nargs}`);
      }
      const kindOf = (i: number) => (i < kinds.length ? kinds[i] : kinds[kinds.length - 1]);
      if (this.funcs[name] === BUILTINS.and.fn || this.funcs[name] === BUILTINS.or.fn) {
        // and/or short-circuit: evaluate arguments one by one
        const isAnd = this.funcs[name] === BUILTINS.and.fn;
        let v: unknown;
        const all = [...argNodes];
        for (let i = 0; i < nargs; i++) {
          v = i < all.length ? this.evalArg(dot, 'a', all[i]) : final;
          if (v === undefined) v = null;
          if (truth(v) !== isAnd) return v;
        }
        return v;
      }
      values = argNodes.map((a, i) => this.evalArg(dot, kindOf(i), a));
      if (final !== NO_FINAL) {
        this.at(node, nodeStr);
        values.push(this.validate(final, kindOf(argNodes.length)));
      }
    } else {
      values = argNodes.map((a) => this.evalArg(dot, 'a', a));
      if (final !== NO_FINAL) values.push(final === undefined ? null : final);
    }
    try {
      return fn(...values);
    } catch (e) {
      if (e instanceof ExecError || e instanceof BreakSignal || e instanceof ContinueSignal) throw e;
      this.at(node, nodeStr);
      this.errorf(`error calling ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
