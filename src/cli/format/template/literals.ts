/**
 * Go's literal syntax as the template parser needs it: strconv.Unquote for
 * double-quoted strings and character constants, and hexadecimal floats.
 * Kept apart from the parser because they are Go's rules, not the template's.
 */

export function parseHexFloat(s: string): number {
  const m = /^0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?[0-9]+)$/.exec(s)!;
  const mant = parseInt((m[1] || '0') + (m[2] || ''), 16);
  return mant * 2 ** (Number(m[3]) - 4 * (m[2] || '').length);
}

/** strconv.Unquote for a double-quoted Go string; null when malformed. */
export function unquote(q: string): string | null {
  if (q.length < 2 || q[0] !== '"' || q[q.length - 1] !== '"') return null;
  const s = q.slice(1, -1);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"' || c === '\n') return null;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = s[++i];
    switch (e) {
      case 'a':
        out += '\x07';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case '"':
        out += '"';
        break;
      case 'x':
      case 'u':
      case 'U': {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const h = s.slice(i + 1, i + 1 + len);
        if (h.length !== len || !/^[0-9a-fA-F]+$/.test(h)) return null;
        const cp = parseInt(h, 16);
        if (e === 'x') {
          // a raw byte: fine for ASCII; others become U+FFFD when not valid UTF-8
          out += cp < 0x80 ? String.fromCharCode(cp) : '\ufffd';
        } else {
          if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
          out += String.fromCodePoint(cp);
        }
        i += len;
        break;
      }
      default: {
        if (e >= '0' && e <= '7') {
          const o = s.slice(i, i + 3);
          if (!/^[0-7]{3}$/.test(o)) return null;
          const v = parseInt(o, 8);
          if (v > 255) return null;
          out += v < 0x80 ? String.fromCharCode(v) : '\ufffd';
          i += 2;
          break;
        }
        return null;
      }
    }
  }
  return out;
}
