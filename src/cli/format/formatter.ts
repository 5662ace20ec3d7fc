/**
 * The `--format` handling docker's list commands share (`docker images`, `ps`, `history`,
 * `system df`, …) and the one-object form `inspect --format` uses.
 *
 *   table            → the command's default table (callers substitute their default first)
 *   table TEMPLATE   → a header line, then one line per row, aligned by TabWriter
 *   json             → one JSON object per line (keys sorted, <>& escaped, as docker prints)
 *   TEMPLATE         → one line per row
 *
 * As in docker, the two-character sequences `\t` and `\n` in the format become a tab and
 * a newline, surrounding spaces are trimmed, and the header line is the template run over
 * the header map with json/upper/lower/title/split/join/truncate returning their argument.
 */
import { goJson } from './go-json.js';
import { TabWriter } from './table.js';
import { Template, TemplateError, type TemplateFunc } from './template/index.js';

/** Header text for a field, or a function computing it from the field's arguments (e.g. `.Label "x"`). */
export type HeaderValue = string | ((...args: Parameters<TemplateFunc>) => string);

export interface FormatRowsOptions {
  /**
   * Prefix for execution errors. docker's images/inspect/history say "template parsing error: "
   * (the default), `docker ps` says "failed to execute template: ".
   */
  execErrorPrefix?: string;
  /**
   * Go type named when a template asks a row for a field it lacks, e.g. "*formatter.imageContext"
   * (images), "*formatter.ContainerContext" (ps). docker fails then; so do we. Pass null to print
   * <no value> instead.
   */
  contextType?: string | null;
}

export const TABLE_FORMAT_KEY = 'table';
export const JSON_FORMAT_KEY = 'json';

export const isTableFormat = (format: string): boolean => format.startsWith(TABLE_FORMAT_KEY);
export const isJsonFormat = (format: string): boolean => format === JSON_FORMAT_KEY;

/** The format a list command prints with: the one given, or its default table when none or plain `table` is. */
export function listFormat(given: string | undefined, defaultTable: string): string {
  return !given || given === TABLE_FORMAT_KEY ? defaultTable : given;
}

/** The template text docker actually parses for a list format. */
export function templateSource(format: string): string {
  let src = format;
  if (isTableFormat(format)) src = format.slice(TABLE_FORMAT_KEY.length);
  else if (isJsonFormat(format)) src = '{{json .}}';
  src = src.replace(/^ +| +$/g, '');
  return src.replace(/\\([tn])/g, (_m, c: string) => (c === 't' ? '\t' : '\n'));
}

function rethrow(e: unknown, prefix: string): never {
  if (e instanceof TemplateError && e.kind === 'exec') {
    const err = new TemplateError('exec', e.goMessage, prefix);
    err.partial = e.partial;
    throw err;
  }
  throw e;
}

/**
 * Render rows for a list command. Returns the full text (every line ends with "\n").
 * Throws TemplateError: parse errors read `template parsing error: template: :1: …`.
 */
export function formatRows(format: string, rows: readonly object[], headers: Record<string, HeaderValue>, opts: FormatRowsOptions = {}): string {
  const table = isTableFormat(format);
  const tmpl = Template.parse(templateSource(format));
  let current: unknown;
  const ctype = opts.contextType === undefined ? '*formatter.Context' : opts.contextType;
  const structType = (o: object) => (o === current && ctype !== null ? ctype : undefined);
  // docker's row contexts marshal themselves as a map: sorted keys, HTML-escaped.
  const json: TemplateFunc = (v: unknown) => (v !== undefined && v === current ? goJson(v, { sortKeys: true, escapeHTML: true }) : goJson(v));
  let body = '';
  for (const row of rows) {
    current = row;
    try {
      body += tmpl.execute(row, { json }, { json: 'a' }, structType) + '\n';
    } catch (e) {
      rethrow(e, opts.execErrorPrefix ?? 'template parsing error: ');
    }
  }
  if (!table) return body;
  let header: string;
  try {
    header = tmpl.executeHeader(headers);
  } catch (e) {
    // docker ignores errors here and prints what was written before the failure
    if (e instanceof TemplateError && e.kind === 'exec') header = e.partial;
    else throw e;
  }
  return new TabWriter({ minWidth: 10, tabWidth: 1, padding: 3, padChar: ' ' }).write(header + '\n' + body).flush();
}

/**
 * Render one object for `inspect --format` / `version --format` / `info --format`
 * (no `\t` translation, as docker's inspect). `json` means `{{json .}}`. The caller adds "\n".
 */
export function renderOne(format: string, obj: unknown, opts: { name?: string; structType?: (o: object) => string | undefined } = {}): string {
  const src = isJsonFormat(format) ? '{{json .}}' : format;
  return Template.parse(src, {}, { name: opts.name ?? '' }).execute(obj, undefined, undefined, opts.structType);
}
