/**
 * The event bus behind `/events`: a bounded history for `since` and live
 * subscribers. Events have Docker's JSON shape.
 */
import { EventEmitter } from 'node:events';
import { type Filters, matchLabels } from '../core/filters.js';
import { familiarName, parseNormalized } from '../core/reference.js';

export interface EngineEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  // Pre-1.22 fields the docker CLI still reads for some types.
  status?: string;
  id?: string;
  from?: string;
}

const HISTORY = 1024;

export class EventBus {
  private history: EngineEvent[] = [];
  private emitter = new EventEmitter();
  private lastNano = 0n;

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(type: string, action: string, id: string, attributes: Record<string, string> = {}): EngineEvent {
    // Strictly increasing timestamps keep since/until boundaries exact.
    let nano = BigInt(Date.now()) * 1_000_000n;
    if (nano <= this.lastNano) nano = this.lastNano + 1n;
    this.lastNano = nano;
    const ev: EngineEvent = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(nano / 1_000_000_000n),
      timeNano: Number(nano),
    };
    if (type === 'image' || type === 'container') {
      ev.status = action;
      ev.id = id;
      if (type === 'container' && attributes.image) ev.from = attributes.image;
    }
    this.history.push(ev);
    if (this.history.length > HISTORY) this.history.splice(0, this.history.length - HISTORY);
    this.emitter.emit('event', ev);
    this.emitter.emit('internal', ev);
    return ev;
  }

  /** Past events within [sinceNano, untilNano]. */
  past(sinceNano: number, untilNano: number): EngineEvent[] {
    return this.history.filter((e) => e.timeNano >= sinceNano && e.timeNano <= untilNano);
  }

  /** How many clients follow the stream now (GET /info's NEventsListener). */
  listeners(): number {
    return this.emitter.listenerCount('event');
  }

  /** An engine service that follows events (not an /events client: NEventsListener does not count it). */
  observe(fn: (ev: EngineEvent) => void): () => void {
    this.emitter.on('internal', fn);
    return () => this.emitter.off('internal', fn);
  }

  subscribe(fn: (ev: EngineEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }

  /**
   * GET /events: the past events from `since` (nanoseconds) that pass
   * `filters`, then new ones as they happen; settles at `until` (at once when
   * it has passed) or when `signal` aborts.
   */
  async follow(o: { since?: number; until?: number; filters: Filters; signal: AbortSignal }, emit: (ev: EngineEvent) => void): Promise<void> {
    const { since, until, filters } = o;
    const now = Date.now() * 1e6;
    const pass = (ev: EngineEvent) => {
      if (matchEvent(ev, filters)) emit(ev);
    };
    if (since !== undefined) for (const ev of this.past(since, until ?? now)) pass(ev);
    if (until !== undefined && until <= now) return;
    await new Promise<void>((resolve) => {
      const unsubscribe = this.subscribe((ev) => {
        if (until !== undefined && ev.timeNano > until) return;
        pass(ev);
      });
      const done = () => {
        unsubscribe();
        clearTimeout(timer);
        resolve();
      };
      const timer = until !== undefined ? setTimeout(done, (until - now) / 1e6) : undefined;
      if (o.signal.aborted) done();
      else o.signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** The event kinds whose filter takes an event by its actor's ID or name (dockerd's fuzzyMatchName). */
const BY_NAME = ['container', 'network', 'volume', 'daemon', 'plugin', 'node', 'service', 'secret', 'config'];
/** Event filters that take any action starting with the value (#25798: `health_status`, `exec_create`, `exec_start`). */
const FUZZY_ACTIONS = ['health_status', 'exec_create', 'exec_start'];

/** The repository an image name is known by, without tag or digest (dockerd's stripTag), or the name as it is. */
function stripTag(name: string): string {
  try {
    return familiarName(parseNormalized(name));
  } catch {
    return name;
  }
}

/**
 * Does an event pass Docker's event filters? As dockerd's daemon/events
 * filter: an ID/name filter (container=…, network=…, …) takes any event
 * whose actor ID or name attribute equals or starts with a value, whatever
 * the event's type; the other keys are exact.
 */
export function matchEvent(ev: EngineEvent, filters: Filters): boolean {
  const attrs = ev.Actor.Attributes;
  const has = (k: string) => (filters[k]?.length ?? 0) > 0;
  const exact = (k: string, v: string | undefined) => !has(k) || (v !== undefined && filters[k]!.includes(v));
  const fuzzy = (k: string, v: string | undefined) => v !== undefined && filters[k]!.some((p) => v.startsWith(p));
  if (has('event')) {
    const ok = filters.event!.some((v) => FUZZY_ACTIONS.includes(v)) ? fuzzy('event', ev.Action) : filters.event!.includes(ev.Action);
    if (!ok) return false;
  }
  if (!exact('type', ev.Type) || !exact('scope', ev.scope)) return false;
  for (const k of BY_NAME) if (has(k) && !fuzzy(k, ev.Actor.ID) && !fuzzy(k, attrs.name)) return false;
  if (has('image')) {
    const name = ev.Type === 'image' ? attrs.name : attrs.image;
    const want = filters.image!;
    const hit = [ev.Actor.ID, name, stripTag(ev.Actor.ID), name === undefined ? undefined : stripTag(name)].some((x) => x !== undefined && want.includes(x));
    if (!hit) return false;
  }
  return matchLabels(attrs, filters.label);
}
