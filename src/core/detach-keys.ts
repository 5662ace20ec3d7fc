/**
 * Detach keys: the key sequence (docker's default ctrl-p ctrl-q) that, typed into an
 * attached stdin, leaves the session instead of reaching the container. Both the CLI
 * (on its terminal) and the daemon (on an attach stream) watch for it.
 */

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/**
 * "ctrl-p,ctrl-q" → bytes. Each comma-separated key is one character or ctrl-<c> where
 * c is a letter or one of @ [ \ ] ^ _ (docker's term.ToBytes rules).
 */
export function parseDetachKeys(spec: string): Buffer {
  const out: number[] = [];
  for (const raw of spec.split(',')) {
    const key = raw.trim();
    if (key.length > 1 && key.toLowerCase().startsWith('ctrl-')) {
      const c = key.slice(5).toLowerCase();
      if (c.length !== 1) throw new Error(`Unknown character: '${key}'`);
      if (c >= 'a' && c <= 'z') out.push(c.charCodeAt(0) - 96);
      else {
        const i = '@[\\]^_'.indexOf(c);
        if (i < 0) throw new Error(`Unknown character: '${key}'`);
        out.push(i === 0 ? 0 : 26 + i);
      }
    } else if (key.length === 1) {
      out.push(key.charCodeAt(0));
    } else {
      throw new Error(`Unknown character: '${key}'`);
    }
  }
  return Buffer.from(out);
}

/**
 * Scans a byte stream for the detach sequence. Bytes that might begin the sequence are
 * held back until the next byte settles it; when the whole sequence has been seen, the
 * held bytes are dropped and `detached` is set. Everything else passes through.
 */
export class EscapeScanner {
  private matched = 0;
  detached = false;

  constructor(private readonly keys: Buffer) {}

  /** The bytes to forward from this chunk (nothing more once detached). */
  push(chunk: Buffer): Buffer {
    if (this.detached || this.keys.length === 0) return this.detached ? Buffer.alloc(0) : chunk;
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) {
          this.detached = true;
          return Buffer.from(out);
        }
        continue;
      }
      // A broken match: release what was held, then see whether this byte starts a new one.
      for (let i = 0; i < this.matched; i++) out.push(this.keys[i]!);
      this.matched = 0;
      if (b === this.keys[0]) {
        this.matched = 1;
        if (this.keys.length === 1) {
          this.detached = true;
          return Buffer.from(out);
        }
      } else out.push(b);
    }
    return Buffer.from(out);
  }
}
