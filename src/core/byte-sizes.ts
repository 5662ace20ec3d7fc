/**
 * Sizes as Docker's flags and options take them (docker/go-units), parsed once for the CLI,
 * the engine and the daemon's settings: RAMInBytes (binary multiples: --memory, --memory-swap,
 * --memory-reservation, --shm-size, --mount tmpfs-size, --log-opt max-size, daemon.json sizes)
 * and FromHumanSize (decimal multiples).
 *
 * Two generations of go-units exist. v0.4.0 (vendored by docker and dockerd 20.10, Berth's
 * reference) matches a regex and says "invalid size: '…'" for anything else; every caller uses
 * it. v0.5 (docker 23+) checks the suffix letter by letter and says "invalid suffix: '…'"; it is
 * kept, tested, for the day the reference moves.
 */

const BINARY_MUL: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
const DECIMAL_MUL: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };

/** go-units v0.4.0's sizeRegex: digits with dot groups, one optional space, [kmgtp], optional i, optional b. */
const SIZE_V04 = /^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/;

function parseSize(str: string, mul: Record<string, number>): number {
  const m = SIZE_V04.exec(str);
  if (!m) throw new Error(`invalid size: '${str}'`);
  // strconv.ParseFloat takes one dot only ("1.2.3" passes the regex, not the parse).
  if (m[2] !== undefined && m[1].indexOf('.') !== m[1].lastIndexOf('.')) {
    throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(m[1])}: invalid syntax`);
  }
  const size = Number(m[1]) * (m[3] ? mul[m[3].toLowerCase()] : 1);
  return Math.trunc(size);
}

/** go-units v0.4.0 RAMInBytes: "2g", "512m", "1.5GB", "10MiB", "100" (bytes); binary multiples. */
export function ramInBytes(str: string): number {
  return parseSize(str, BINARY_MUL);
}

/** go-units v0.4.0 FromHumanSize: like ramInBytes with decimal multiples ("1kB" → 1000). */
export function fromHumanSize(str: string): number {
  return parseSize(str, DECIMAL_MUL);
}

/** go-units v0.5's parseSize (no regex): a number, an optional space, a suffix checked letter by letter. */
function parseSizeV05(str: string, mul: Record<string, number>): number {
  let num: string;
  let sfx: string;
  const sp = str.indexOf(' ');
  if (sp >= 0) {
    num = str.slice(0, sp);
    sfx = str.slice(sp + 1);
  } else {
    let sep = -1;
    for (let i = str.length - 1; i >= 0; i--)
      if ('0123456789.'.includes(str[i])) {
        sep = i;
        break;
      }
    if (sep < 0) throw new Error(`invalid size: '${str}'`);
    num = str.slice(0, sep + 1);
    sfx = str.slice(sep + 1);
  }
  // strconv.ParseFloat syntax (decimal forms, inf/nan)
  if (!/^[+-]?((\d+(_\d+)*)?\.?\d*([eE][+-]?\d+)?|inf(inity)?|nan)$/i.test(num) || !/\d|inf|nan/i.test(num)) {
    throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(num)}: invalid syntax`);
  }
  let size = /inf/i.test(num) ? (num.startsWith('-') ? -Infinity : Infinity) : /nan/i.test(num) ? NaN : Number(num.replace(/_/g, ''));
  if (size < 0) throw new Error(`invalid size: '${str}'`);
  if (sfx.length === 0) return Math.trunc(size);
  const bad = () => new Error(`invalid suffix: '${sfx}'`);
  if (sfx.length > 3) throw bad();
  sfx = sfx.toLowerCase();
  if (sfx[0] === 'b') {
    if (sfx.length > 1) throw bad();
    return Math.trunc(size);
  }
  const m = mul[sfx[0]];
  if (m === undefined) throw bad();
  size *= m;
  if ((sfx.length === 2 && sfx[1] !== 'b') || (sfx.length === 3 && sfx.slice(1) !== 'ib')) throw bad();
  return Math.trunc(size);
}

/**
 * go-units v0.5 RAMInBytes (docker 23+): "2g", "512m", "100k", "1.5GB", "64 MiB" → bytes, binary
 * multipliers, case-insensitive, optional b / ib. Throws Error("invalid size: '…'" / "invalid suffix: '…'").
 */
export function ramInBytesV05(str: string): number {
  return parseSizeV05(str, BINARY_MUL);
}

/** go-units v0.5 FromHumanSize: like ramInBytesV05 with decimal multipliers ("1kB" → 1000). */
export function fromHumanSizeV05(str: string): number {
  return parseSizeV05(str, DECIMAL_MUL);
}
