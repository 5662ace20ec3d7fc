/**
 * Docker's multiplexed stream framing, used on attach, logs and exec streams
 * of containers without a TTY. Each frame is an 8-byte header
 * `[stream, 0, 0, 0, size (uint32 big-endian)]` followed by `size` bytes.
 * stream: 0 stdin, 1 stdout, 2 stderr, 3 systemerr (the daemon reporting an
 * error mid-stream; the payload is the message).
 */

export type StdStream = 0 | 1 | 2;
export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const SYSTEMERR = 3;

const HEADER = 8;
const MAX_FRAME = 0xffffffff;

/** One frame: header plus payload. Type 3 is for reporting a daemon error. */
export function frame(stream: StdStream | 3, data: Buffer): Buffer {
  if (data.length > MAX_FRAME) throw new RangeError(`frame payload too large: ${data.length} bytes`);
  const out = Buffer.allocUnsafe(HEADER + data.length);
  out[0] = stream;
  out[1] = out[2] = out[3] = 0;
  out.writeUInt32BE(data.length, 4);
  data.copy(out, HEADER);
  return out;
}

export interface StdChunk {
  stream: StdStream;
  data: Buffer;
}

/**
 * Splits a framed byte stream back into frames, whatever the chunk
 * boundaries. Feed chunks to `push`, which returns the frames they complete
 * (payloads may share memory with the chunks pushed). A systemerr frame or an
 * unknown stream type makes `push` throw a DemuxError whose `frames` holds
 * the frames decoded before it in that call.
 */
export class Demuxer {
  private pieces: Buffer[] = [];
  private have = 0;
  /** Payload size of the frame whose header has been read, if any. */
  private need = -1;
  private stream: StdStream | 3 = 1;

  push(chunk: Buffer): StdChunk[] {
    this.pieces.push(chunk);
    this.have += chunk.length;
    const out: StdChunk[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.have < HEADER) return out;
        const h = this.take(HEADER);
        const type = h[0];
        if (type > 3) throw withFrames(new Error(`Unrecognized input header: ${type}`), out);
        this.stream = type as StdStream | 3;
        this.need = h.readUInt32BE(4);
      }
      if (this.have < this.need) return out;
      const data = this.take(this.need);
      this.need = -1;
      if (this.stream === 3) throw withFrames(new Error(`error from daemon in stream: ${data.toString('utf8')}`), out);
      out.push({ stream: this.stream, data });
    }
  }

  /** Call at end of input: throws if it stopped inside a frame. */
  end(): void {
    if (this.have > 0 || this.need > 0) {
      throw new Error(`unexpected end of stream inside a frame (${this.have} of ${this.need < 0 ? HEADER : this.need} bytes)`);
    }
  }

  /** The first n buffered bytes; copy-free when one piece holds them. */
  private take(n: number): Buffer {
    this.have -= n;
    const first = this.pieces[0];
    if (n === 0) return Buffer.alloc(0);
    if (first.length >= n) {
      if (first.length === n) this.pieces.shift();
      else this.pieces[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const p = this.pieces[0];
      const k = Math.min(p.length, n - off);
      p.copy(out, off, 0, k);
      off += k;
      if (k === p.length) this.pieces.shift();
      else this.pieces[0] = p.subarray(k);
    }
    return out;
  }
}

/** The error `Demuxer.push` throws, carrying the frames decoded before it. */
export interface DemuxError extends Error {
  frames: StdChunk[];
}

function withFrames(err: Error, frames: StdChunk[]): DemuxError {
  return Object.assign(err, { frames });
}

/** Frames of a framed byte stream (e.g. an HTTP response body); throws on systemerr or truncation. */
export async function* demux(source: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<StdChunk> {
  const d = new Demuxer();
  for await (const chunk of source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let frames: StdChunk[];
    try {
      frames = d.push(buf);
    } catch (e) {
      // Hand over what came before the error, then raise it.
      for (const f of (e as Partial<DemuxError>).frames ?? []) yield f;
      throw e;
    }
    yield* frames;
  }
  d.end();
}
