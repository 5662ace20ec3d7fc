/**
 * Elastic tabstops as Go's text/tabwriter lays them out (left-aligned, no flags),
 * which is how docker prints its tables: `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`.
 * docker uses its own copy of tabwriter that measures cells in terminal columns
 * (go-runewidth), so wide CJK characters and emoji count as 2 and marks as 0.
 *
 * Text is cut into lines at '\n' (and '\f') and into cells at '\t' (and '\v'). A cell
 * ended by a tab belongs to a column; the last cell of a line does not and is printed
 * as is. Adjacent lines with a cell in column k form a block whose width is the widest
 * cell + padding (at least minWidth); blocks nest column by column, as in Go.
 */

export interface TabWriterOptions {
  minWidth?: number;
  tabWidth?: number;
  padding?: number;
  padChar?: string;
  /** Cell width function; docker's fork of tabwriter uses go-runewidth (the default). */
  width?: (cell: string) => number;
}

interface Cell {
  text: string;
  width: number;
}

export class TabWriter {
  private buf = '';
  private readonly minWidth: number;
  private readonly padding: number;
  private readonly padChar: string;
  private readonly tabWidth: number;
  private readonly width: (cell: string) => number;

  constructor(opts: TabWriterOptions = {}) {
    this.minWidth = opts.minWidth ?? 10;
    this.tabWidth = opts.tabWidth ?? 1;
    this.padding = opts.padding ?? 3;
    this.padChar = opts.padChar ?? ' ';
    this.width = opts.width ?? displayWidth;
  }

  write(text: string): this {
    this.buf += text;
    return this;
  }

  /** Lay out everything written so far and return it; the writer is emptied. */
  flush(): string {
    const text = this.buf;
    this.buf = '';
    let out = '';
    // '\f' ends a line and also a run of blocks, like a flush in Go.
    const sections = text.split('\f');
    sections.forEach((sec, i) => {
      out += this.layout(sec);
      if (i < sections.length - 1) out += '\n';
    });
    return out;
  }

  private layout(text: string): string {
    const lines: Cell[][] = text.split('\n').map((l) => l.split(/[\t\v]/).map((t) => ({ text: t, width: this.width(t) })));
    const widths: number[] = [];
    const parts: string[] = [];

    const writeLines = (line0: number, line1: number) => {
      for (let i = line0; i < line1; i++) {
        const line = lines[i];
        let s = '';
        line.forEach((c, j) => {
          s += c.text;
          if (j < widths.length) s += this.pad(c.width, widths[j]);
        });
        parts.push(s);
        if (i + 1 < lines.length) parts.push('\n');
      }
    };

    const format = (line0: number, line1: number) => {
      const column = widths.length;
      for (let cur = line0; cur < line1; cur++) {
        if (column >= lines[cur].length - 1) continue;
        // a cell in this column: print the lines before the block, then size the block
        writeLines(line0, cur);
        line0 = cur;
        let width = this.minWidth;
        for (; cur < line1; cur++) {
          const line = lines[cur];
          if (column >= line.length - 1) break;
          const w = line[column].width + this.padding;
          if (w > width) width = w;
        }
        widths.push(width);
        format(line0, cur);
        widths.pop();
        line0 = cur; // the line that ended the block has no cell here; the loop steps past it
      }
      writeLines(line0, line1);
    };

    format(0, lines.length);
    return parts.join('');
  }

  private pad(textWidth: number, cellWidth: number): string {
    if (this.padChar === '\t') {
      // tabs: round the cell up to a multiple of tabWidth, one tab per tabWidth
      const tw = this.tabWidth;
      if (tw === 0) return '';
      const cw = Math.ceil(cellWidth / tw) * tw;
      return '\t'.repeat(Math.max(0, Math.ceil((cw - textWidth) / tw)));
    }
    return this.padChar.repeat(Math.max(0, cellWidth - textWidth));
  }
}

// East Asian Wide/Fullwidth ranges outside emoji (emoji are matched by Emoji_Presentation).
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f],
  [0x2329, 0x232a],
  [0x2e80, 0x2e99],
  [0x2e9b, 0x2ef3],
  [0x2f00, 0x2fd5],
  [0x2ff0, 0x2fff],
  [0x3000, 0x303e],
  [0x3041, 0x3096],
  [0x3099, 0x30ff],
  [0x3105, 0x312f],
  [0x3131, 0x318e],
  [0x3190, 0x31e3],
  [0x31ef, 0x321e],
  [0x3220, 0x3247],
  [0x3250, 0x4dbf],
  [0x4e00, 0xa48c],
  [0xa490, 0xa4c6],
  [0xa960, 0xa97c],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe52],
  [0xfe54, 0xfe66],
  [0xfe68, 0xfe6b],
  [0xff01, 0xff60],
  [0xffe0, 0xffe6],
  [0x16fe0, 0x16fe4],
  [0x16ff0, 0x16ff1],
  [0x17000, 0x187f7],
  [0x18800, 0x18cd5],
  [0x18d00, 0x18d08],
  [0x1aff0, 0x1b2fb],
  [0x1f200, 0x1f202],
  [0x1f210, 0x1f23b],
  [0x1f240, 0x1f248],
  [0x1f250, 0x1f251],
  [0x1f260, 0x1f265],
  [0x20000, 0x2fffd],
  [0x30000, 0x3fffd],
];
const NONPRINT: ReadonlyArray<readonly [number, number]> = [
  [0x070f, 0x070f],
  [0x180b, 0x180e],
  [0x200b, 0x200f],
  [0x2028, 0x202e],
  [0x206a, 0x206f],
  [0xd800, 0xdfff],
  [0xfeff, 0xfeff],
  [0xfff9, 0xfffb],
  [0xfffe, 0xffff],
];
const inRanges = (cp: number, t: ReadonlyArray<readonly [number, number]>) => t.some(([lo, hi]) => cp >= lo && cp <= hi);
// Nonspacing and enclosing marks; the variation selectors (U+FE00-FE0F, U+E0100-E01EF) are Mn too.
const COMBINING = /^[\p{Mn}\p{Me}]$/u;
const EMOJI_WIDE = /^\p{Emoji_Presentation}$/u;

/** Terminal cells of one code point, as go-runewidth's RuneWidth (non-East-Asian locale). */
export function runeWidth(cp: number): number {
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp === 0xad) return 0;
  if (cp < 0x300) return 1;
  const ch = String.fromCodePoint(cp);
  if (inRanges(cp, NONPRINT) || COMBINING.test(ch)) return 0;
  if (inRanges(cp, WIDE) || (EMOJI_WIDE.test(ch) && !(cp >= 0x1f1e6 && cp <= 0x1f1ff))) return 2; // regional indicators are N
  return 1;
}

let segmenter: Intl.Segmenter | undefined;

/**
 * Display width as docker's tabwriter measures cells (go-runewidth StringWidth): per grapheme
 * cluster, the width of its first non-zero-width code point; CJK and emoji count 2.
 */
export function displayWidth(s: string): number {
  let w = 0;
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      ascii = false;
      break;
    }
    if (c >= 0x20 && c !== 0x7f) w++;
  }
  if (ascii) return w;
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  w = 0;
  for (const { segment } of segmenter.segment(s)) {
    for (const ch of segment) {
      const cw = runeWidth(ch.codePointAt(0)!);
      if (cw > 0) {
        w += cw;
        break;
      }
    }
  }
  return w;
}

/** Convenience: lay out `text` the way docker's tables do. */
export function tabulate(text: string, opts?: TabWriterOptions): string {
  return new TabWriter(opts).write(text).flush();
}
