/**
 * A Go text/template work-alike for `--format` strings, with docker's extra
 * functions (json, split, join, title, lower, upper, pad, truncate).
 *
 * Written from the documented behaviour of text/template: the lexer and parser
 * reproduce Go's error messages ("template: NAME:LINE: …"), execution follows
 * its rules for fields, maps (sorted keys), variables, if/with/range/else,
 * break/continue and the builtin functions. See gofmt.ts for how JS values map
 * onto Go types. Objects stand for both structs and maps; a function-valued
 * property is called like a method (with the action's arguments).
 *
 * One file per stage: lex.ts (items), parse.ts (tree of ast.ts; Go literals in
 * literals.ts), funcs.ts (builtins and docker's functions), exec.ts (the walk),
 * template.ts (the Template class). This file is what the rest of the CLI imports.
 */
export { compileTemplate, Template, TemplateError, type TemplateOptions } from './template.js';
export type { TemplateFunc } from './funcs.js';
