/**
 * Container history for the console and API clients (`GET /berth/containers/{id}/history`):
 * a point every `interval` seconds per running container, kept for the last 720 points (an
 * hour at 5 s) in a HistoryRing, dropped when the container is removed.
 *
 * Sampling runs only while someone asks: each history request "watches" for ten minutes;
 * while watched, every running container is sampled each tick; when the watch lapses the
 * timer stops and nothing runs. The memory ceiling is fixed: at most MAX_TRACKED rings
 * (stopped containers' rings are evicted first, the one with the oldest newest point);
 * a running container beyond the cap is not tracked.
 */
import { totalmem } from 'node:os';
import type { Container } from '../containers/record.js';
import type { EventBus } from '../events.js';
import type { EngineMetrics } from '../metrics/recorder.js';
import { type CounterSample, readCounters } from '../metrics/sample.js';
import { type HistoryPoint, HistoryRing, POINT_BYTES } from './ring.js';

export const HISTORY_POINTS = 720;
export const MAX_TRACKED = 1000;
export const DEFAULT_INTERVAL = 5;
const WATCH_MS = 10 * 60_000;

/** The most memory the rings take: MAX_TRACKED × 720 points × 64 bytes ≈ 44 MiB. */
export const HISTORY_CEILING_BYTES = MAX_TRACKED * HISTORY_POINTS * POINT_BYTES;

export interface HistoryAnswer {
  Interval: number;
  Points: HistoryPoint[];
}

export interface HistoryContainers {
  list(): Container[];
  get(ref: string): Container;
}

export class HistoryService {
  private readonly rings = new Map<string, HistoryRing>();
  private timer?: NodeJS.Timeout;
  private watchUntil = 0;
  private ticking?: Promise<void>;
  private readonly unobserve: () => void;
  /** Samples taken since the daemon started (also exposed as berth_history_samples_total). */
  samples = 0;

  constructor(
    private readonly containers: HistoryContainers,
    events: EventBus,
    private readonly metrics: EngineMetrics,
    /** Seconds between points (daemon.json's undocumented `history-interval`, for tests). */
    readonly interval = DEFAULT_INTERVAL,
  ) {
    this.unobserve = events.observe((ev) => {
      if (ev.Type === 'container' && ev.Action === 'destroy') this.rings.delete(ev.Actor.ID);
    });
  }

  /** Containers with a ring now. */
  get tracked(): number {
    return this.rings.size;
  }

  /** The points of a container newer than `since`, oldest first; starts (or extends) the watch. */
  async query(ref: string, since?: number): Promise<HistoryAnswer> {
    const c = this.containers.get(ref);
    const idle = this.timer === undefined;
    this.watch();
    // The first request of a watch gets a point at once rather than after a whole interval.
    if (idle) await this.tick();
    const ring = this.rings.get(c.rec.Id);
    return { Interval: this.interval, Points: ring ? ring.points(since) : [] };
  }

  private watch(): void {
    this.watchUntil = Date.now() + WATCH_MS;
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.interval * 1000);
    this.timer.unref();
  }

  /** One sampling pass; passes never overlap (a slow one makes the next wait for it). */
  private tick(): Promise<void> {
    if (Date.now() > this.watchUntil) {
      clearInterval(this.timer);
      this.timer = undefined;
      return Promise.resolve();
    }
    this.ticking ??= this.sample().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async sample(): Promise<void> {
    const all = this.containers.list();
    const got = await readCounters(all);
    const byId = new Map(all.map((c) => [c.rec.Id, c]));
    const now = Date.now();
    for (const s of got) {
      const c = byId.get(s.id);
      if (!c) continue;
      const ring = this.ringFor(s.id, byId);
      if (ring) ring.push(point(ring, s, now));
    }
    this.samples += got.length;
    this.metrics.countHistorySamples(got.length);
  }

  private ringFor(id: string, byId: Map<string, Container>): HistoryRing | undefined {
    let ring = this.rings.get(id);
    if (ring) return ring;
    if (this.rings.size >= MAX_TRACKED && !this.evict(byId)) return undefined;
    ring = new HistoryRing(HISTORY_POINTS);
    this.rings.set(id, ring);
    return ring;
  }

  /** Make room: drop a gone container's ring, else the stalest stopped one's; false when all run. */
  private evict(byId: Map<string, Container>): boolean {
    let victim: string | undefined;
    let oldest = Infinity;
    for (const [id, ring] of this.rings) {
      const c = byId.get(id);
      if (!c) {
        victim = id;
        break;
      }
      if (!c.state.Running && ring.newest < oldest) {
        oldest = ring.newest;
        victim = id;
      }
    }
    if (victim === undefined) return false;
    this.rings.delete(victim);
    return true;
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unobserve();
  }
}

/** A point from a sample; CPU % against the ring's previous sample (0 for the first). */
function point(ring: HistoryRing, s: CounterSample, nowMs: number): HistoryPoint {
  const { stats } = s;
  const cpuNs = stats.cpu.usageNs;
  let cpu = 0;
  if (ring.prevCpuNs >= 0 && nowMs > ring.prevWallMs && cpuNs >= ring.prevCpuNs) {
    cpu = ((cpuNs - ring.prevCpuNs) / ((nowMs - ring.prevWallMs) * 1e6)) * 100;
  }
  ring.prevCpuNs = cpuNs;
  ring.prevWallMs = nowMs;
  const host = totalmem();
  const lim = stats.memory.limit;
  const cache = (stats.version === 2 ? stats.memory.stats.inactive_file : stats.memory.stats.total_inactive_file) ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.net)) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  let br = 0;
  let bw = 0;
  for (const e of stats.blkio.io_service_bytes_recursive ?? []) {
    const op = e.op.toLowerCase();
    if (op === 'read') br += e.value;
    else if (op === 'write') bw += e.value;
  }
  return {
    Time: Math.round(nowMs) / 1000,
    CPUPercent: cpu,
    MemoryUsage: Math.max(0, stats.memory.usage - (cache < stats.memory.usage ? cache : 0)),
    MemoryLimit: lim === null || lim > host ? host : lim,
    NetworkRx: rx,
    NetworkTx: tx,
    BlockRead: br,
    BlockWrite: bw,
    Pids: stats.pids.current,
  };
}
