/**
 * The engine's metrics: one prom-client registry per daemon holding the engine's own
 * counters (API requests, builds, pulls, history samples), gauges read when scraped
 * (containers by state, images), Node's process metrics, and the per-container cAdvisor
 * families (cadvisor.ts) read from cgroups at scrape time. Nothing here samples on a timer:
 * every container value is read inside the scrape that asks for it.
 *
 * Other layers only report observations (`observeRequest` from api/, `observeBuild`,
 * `observePull`, `countHistorySamples` from the engine). With metrics off (no
 * `metrics-addr`) there is no registry and every observation is a no-op.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Container, ContainerStatus } from '../containers/record.js';
import { CONTAINER_FAMILIES, type Family, containerFamilies } from './cadvisor.js';
import { CpuSettingsCache, readSamples } from './sample.js';

export type Outcome = 'success' | 'failure';

export interface MetricSources {
  containers: () => Container[];
  imageCount: () => number;
  /** Containers the history keeps points of (set once the history service exists). */
  historyTracked?: () => number;
}

const STATUSES: ContainerStatus[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];
const LONG_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

interface Instruments {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  requestSeconds: Histogram<'route' | 'method' | 'status'>;
  builds: Counter<'outcome'>;
  buildSeconds: Histogram<'outcome'>;
  pulls: Counter<'outcome'>;
  pullSeconds: Histogram<'outcome'>;
  historySamples: Counter;
}

export class EngineMetrics {
  private readonly m?: Instruments;
  /** The container read of the scrape in progress, shared by all its families. */
  private pending?: Promise<Map<string, Family>>;
  private readonly cpuSettings = new CpuSettingsCache();

  constructor(
    readonly enabled: boolean,
    private readonly sources: MetricSources,
  ) {
    if (enabled) this.m = this.instruments();
  }

  private instruments(): Instruments {
    const registry = new Registry();
    const registers = [registry];
    collectDefaultMetrics({ register: registry });
    const src = this.sources;
    new Gauge({
      name: 'berth_containers',
      help: 'Containers by state',
      labelNames: ['state'],
      registers,
      collect() {
        const n = new Map<string, number>(STATUSES.map((s) => [s, 0]));
        for (const c of src.containers()) n.set(c.state.Status, (n.get(c.state.Status) ?? 0) + 1);
        for (const [state, v] of n) this.set({ state }, v);
      },
    });
    new Gauge({
      name: 'engine_daemon_container_states_containers',
      help: "Containers by state, in dockerd's three states (running, paused, stopped)",
      labelNames: ['state'],
      registers,
      collect() {
        const n = { running: 0, paused: 0, stopped: 0 };
        for (const c of src.containers()) n[c.state.Paused ? 'paused' : c.state.Running ? 'running' : 'stopped']++;
        for (const [state, v] of Object.entries(n)) this.set({ state }, v);
      },
    });
    new Gauge({
      name: 'berth_images',
      help: 'Images in the store',
      registers,
      collect() {
        this.set(src.imageCount());
      },
    });
    new Gauge({
      name: 'berth_history_containers',
      help: 'Containers whose history is kept (at most 1000)',
      registers,
      collect() {
        this.set(src.historyTracked?.() ?? 0);
      },
    });
    for (const f of CONTAINER_FAMILIES) {
      // A family whose series are computed per scrape: prom-client formats what get() returns.
      const metric = {
        name: f.name,
        help: f.help,
        type: f.type,
        aggregator: 'sum',
        collect: () => undefined,
        get: async () => ({ ...f, aggregator: 'sum', values: (await this.containerFamilies()).get(f.name)?.values ?? [] }),
      };
      registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
    }
    const routeLabels = ['route', 'method', 'status'] as const;
    return {
      registry,
      requests: new Counter({
        name: 'berth_api_requests_total',
        help: 'Engine API requests by route template, method and status',
        labelNames: routeLabels,
        registers,
      }),
      requestSeconds: new Histogram({
        name: 'berth_api_request_duration_seconds',
        help: 'Engine API request durations in seconds (streams until they end)',
        labelNames: routeLabels,
        registers,
      }),
      builds: new Counter({ name: 'berth_builds_total', help: 'Image builds by outcome', labelNames: ['outcome'], registers }),
      buildSeconds: new Histogram({
        name: 'berth_build_duration_seconds',
        help: 'Image build durations in seconds',
        labelNames: ['outcome'],
        buckets: LONG_BUCKETS,
        registers,
      }),
      pulls: new Counter({ name: 'berth_pulls_total', help: "Image pulls by outcome (builds' base-image pulls included)", labelNames: ['outcome'], registers }),
      pullSeconds: new Histogram({
        name: 'berth_pull_duration_seconds',
        help: 'Image pull durations in seconds',
        labelNames: ['outcome'],
        buckets: LONG_BUCKETS,
        registers,
      }),
      historySamples: new Counter({ name: 'berth_history_samples_total', help: 'Container samples taken for the history API', registers }),
    };
  }

  private containerFamilies(): Promise<Map<string, Family>> {
    // Every family's get() is called in one synchronous pass of Registry.metrics(): they share one read.
    this.pending ??= readSamples(this.sources.containers(), this.cpuSettings)
      .then((samples) => new Map(containerFamilies(samples, Date.now() / 1000).map((f) => [f.name, f])))
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  /** An API request answered (`route`: the router's template, never a raw path). */
  observeRequest(route: string, method: string, status: number, seconds: number): void {
    if (!this.m) return;
    const labels = { route, method, status: String(status) };
    this.m.requests.inc(labels);
    this.m.requestSeconds.observe(labels, seconds);
  }

  observeBuild(outcome: Outcome, seconds: number): void {
    this.m?.builds.inc({ outcome });
    this.m?.buildSeconds.observe({ outcome }, seconds);
  }

  observePull(outcome: Outcome, seconds: number): void {
    this.m?.pulls.inc({ outcome });
    this.m?.pullSeconds.observe({ outcome }, seconds);
  }

  /** The history service's count of tracked containers, for berth_history_containers. */
  trackHistory(tracked: () => number): void {
    this.sources.historyTracked = tracked;
  }

  countHistorySamples(n: number): void {
    if (n > 0) this.m?.historySamples.inc(n);
  }

  /** Time a promise (a build, a pull) and report its outcome. */
  timed<T>(p: () => Promise<T>, observe: (outcome: Outcome, seconds: number) => void): Promise<T> {
    const t0 = performance.now();
    const done = (o: Outcome) => observe(o, (performance.now() - t0) / 1000);
    return p().then(
      (v) => {
        done('success');
        return v;
      },
      (e: unknown) => {
        done('failure');
        throw e;
      },
    );
  }

  /** The exposition for GET /metrics; undefined when metrics are off. */
  async expose(): Promise<{ contentType: string; body: string } | undefined> {
    if (!this.m) return undefined;
    return { contentType: this.m.registry.contentType, body: await this.m.registry.metrics() };
  }
}
