/**
 * One container's history: a fixed-size ring of points in typed arrays, so its memory is
 * known up front (64 bytes a point: seven float64 columns, a float32 and a uint32) and
 * pushing a point never allocates. The oldest point is overwritten once the ring is full.
 */

/** One point as the history API answers it. */
export interface HistoryPoint {
  /** Unix seconds (millisecond precision). */
  Time: number;
  /** CPU use since the previous point; 100 = one core. */
  CPUPercent: number;
  /** Bytes in use, page cache excluded (as `docker stats` shows it). */
  MemoryUsage: number;
  /** The limit in bytes; the host's memory when the container has none (as `docker stats`). */
  MemoryLimit: number;
  NetworkRx: number;
  NetworkTx: number;
  BlockRead: number;
  BlockWrite: number;
  Pids: number;
}

/** Bytes one point takes in a ring. */
export const POINT_BYTES = 7 * 8 + 4 + 4;

export class HistoryRing {
  private readonly time: Float64Array;
  private readonly cpu: Float32Array;
  private readonly mem: Float64Array;
  private readonly limit: Float64Array;
  private readonly rx: Float64Array;
  private readonly tx: Float64Array;
  private readonly br: Float64Array;
  private readonly bw: Float64Array;
  private readonly pids: Uint32Array;
  /** Index the next point is written at. */
  private next = 0;
  private count = 0;
  /** The previous sample's CPU time (ns) and wall time (ms), the base of the next CPU %. */
  prevCpuNs = -1;
  prevWallMs = 0;

  constructor(readonly capacity: number) {
    this.time = new Float64Array(capacity);
    this.cpu = new Float32Array(capacity);
    this.mem = new Float64Array(capacity);
    this.limit = new Float64Array(capacity);
    this.rx = new Float64Array(capacity);
    this.tx = new Float64Array(capacity);
    this.br = new Float64Array(capacity);
    this.bw = new Float64Array(capacity);
    this.pids = new Uint32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Time of the newest point; 0 when empty. */
  get newest(): number {
    return this.count ? this.time[(this.next - 1 + this.capacity) % this.capacity]! : 0;
  }

  push(p: HistoryPoint): void {
    const i = this.next;
    this.time[i] = p.Time;
    this.cpu[i] = p.CPUPercent;
    this.mem[i] = p.MemoryUsage;
    this.limit[i] = p.MemoryLimit;
    this.rx[i] = p.NetworkRx;
    this.tx[i] = p.NetworkTx;
    this.br[i] = p.BlockRead;
    this.bw[i] = p.BlockWrite;
    this.pids[i] = p.Pids;
    this.next = (i + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** Points newer than `since` (unix seconds), oldest first. */
  points(since = -Infinity): HistoryPoint[] {
    const out: HistoryPoint[] = [];
    const start = (this.next - this.count + this.capacity) % this.capacity;
    for (let k = 0; k < this.count; k++) {
      const i = (start + k) % this.capacity;
      if (this.time[i]! <= since) continue;
      out.push({
        Time: this.time[i]!,
        // float32 storage: round to what it can hold faithfully.
        CPUPercent: Math.round(this.cpu[i]! * 1000) / 1000,
        MemoryUsage: this.mem[i]!,
        MemoryLimit: this.limit[i]!,
        NetworkRx: this.rx[i]!,
        NetworkTx: this.tx[i]!,
        BlockRead: this.br[i]!,
        BlockWrite: this.bw[i]!,
        Pids: this.pids[i]!,
      });
    }
    return out;
  }
}
