/** strconv.Quote (and the rune quoting fmt's %q uses), as Go escapes a string: the template lexer, parser and Sprintf share it. */

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** strconv.Quote (or QuoteToASCII). */
export function goQuote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) out += quoteRune(ch, '"', asciiOnly);
  return out + '"';
}

export function quoteRune(ch: string, q: string, asciiOnly: boolean): string {
  const cp = ch.codePointAt(0)!;
  if (ch === q || ch === '\\') return '\\' + ch;
  if (cp >= 0xd800 && cp <= 0xdfff) return asciiOnly ? '\\ufffd' : '\ufffd';
  if (asciiOnly ? cp >= 0x20 && cp < 0x7f : PRINTABLE.test(ch)) return ch;
  switch (ch) {
    case '\x07':
      return '\\a';
    case '\b':
      return '\\b';
    case '\f':
      return '\\f';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '\v':
      return '\\v';
  }
  const hex = cp.toString(16);
  if (cp < 0x20 || cp === 0x7f) return '\\x' + hex.padStart(2, '0');
  if (cp < 0x10000) return '\\u' + hex.padStart(4, '0');
  return '\\U' + hex.padStart(8, '0');
}
