/**
 * The first syntax error in a JSON text, in the words of Go's encoding/json
 * scanner ("invalid character 'n' looking for beginning of object key
 * string", "unexpected end of JSON input"), for the endpoints where dockerd
 * hands a client the decoder's error as it is.
 */
class Syntax extends Error {}

export function goJsonSyntaxError(text: string): string | undefined {
  let i = 0;
  const eof = () => new Syntax('unexpected end of JSON input');
  const bad = (context: string) => {
    const c = text[i]!;
    const q = c === "'" ? "'\\''" : c === '"' ? "'\"'" : c < ' ' ? JSON.stringify(c) : `'${c}'`;
    return new Syntax(`invalid character ${q} ${context}`);
  };
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++; };
  const digits = () => { while (i < text.length && text[i]! >= '0' && text[i]! <= '9') i++; };
  const isDigit = () => i < text.length && text[i]! >= '0' && text[i]! <= '9';
  const str = () => {
    i++;
    for (;;) {
      if (i >= text.length) throw eof();
      const c = text[i]!;
      if (c === '"') { i++; return; }
      if (c === '\\') {
        i++;
        if (i >= text.length) throw eof();
        if (text[i] === 'u') {
          for (let k = 0; k < 4; k++) { i++; if (i >= text.length) throw eof(); if (!/[0-9a-fA-F]/.test(text[i]!)) throw bad('in \\u hexadecimal character escape'); }
        } else if (!'"\\/bfnrt'.includes(text[i]!)) throw bad('in string escape code');
      } else if (c < ' ') throw bad('in string literal');
      i++;
    }
  };
  const num = () => {
    if (text[i] === '-') { i++; if (i >= text.length) throw eof(); if (!isDigit()) throw bad('in numeric literal'); }
    if (text[i] === '0') i++; else digits();
    if (text[i] === '.') { i++; if (i >= text.length) throw eof(); if (!isDigit()) throw bad('after decimal point in numeric literal'); digits(); }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (i >= text.length) throw eof();
      if (!isDigit()) throw bad('in exponent of numeric literal');
      digits();
    }
  };
  const literal = (word: string) => {
    for (let k = 1; k < word.length; k++) {
      i++;
      if (i >= text.length) throw eof();
      if (text[i] !== word[k]) throw bad(`in literal ${word} (expecting '${word[k]}')`);
    }
    i++;
  };
  const value = (): void => {
    ws();
    if (i >= text.length) throw eof();
    const c = text[i]!;
    if (c === '{') return obj();
    if (c === '[') return arr();
    if (c === '"') return str();
    if (c === '-' || (c >= '0' && c <= '9')) return num();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    throw bad('looking for beginning of value');
  };
  const obj = () => {
    i++;
    ws();
    if (i >= text.length) throw eof();
    if (text[i] === '}') { i++; return; }
    for (;;) {
      ws();
      if (i >= text.length) throw eof();
      if (text[i] !== '"') throw bad('looking for beginning of object key string');
      str();
      ws();
      if (i >= text.length) throw eof();
      if (text[i] !== ':') throw bad('after object key');
      i++;
      value();
      ws();
      if (i >= text.length) throw eof();
      if (text[i] === '}') { i++; return; }
      if (text[i] !== ',') throw bad('after object key:value pair');
      i++;
    }
  };
  const arr = () => {
    i++;
    ws();
    if (i >= text.length) throw eof();
    if (text[i] === ']') { i++; return; }
    for (;;) {
      value();
      ws();
      if (i >= text.length) throw eof();
      if (text[i] === ']') { i++; return; }
      if (text[i] !== ',') throw bad('after array element');
      i++;
    }
  };
  try {
    value();
    ws();
    if (i < text.length) throw bad('after top-level value');
    return undefined;
  } catch (e) {
    if (e instanceof Syntax) return e.message;
    throw e;
  }
}
