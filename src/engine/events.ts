/**
 * The event bus behind `/events`: a bounded history for `since` and live
 * subscribers. Events have Docker's JSON shape.
 */
import { EventEmitter } from 'node:events';
import { type Filters, matchLabels } from '../core/filters.js';

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

  constructor() { this.emitter.setMaxListeners(0); }

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

  subscribe(fn: (ev: EngineEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }
}

/** Does an event pass Docker's event filters (type, event, image, container, label, …)? */
export function matchEvent(ev: EngineEvent, filters: Filters): boolean {
  const attrs = ev.Actor.Attributes;
  for (const [key, values] of Object.entries(filters)) {
    if (values.length === 0) continue;
    let ok: boolean;
    switch (key) {
      case 'type': ok = values.includes(ev.Type); break;
      case 'event': ok = values.some((v) => v === ev.Action || ev.Action.startsWith(v + ':')); break;
      case 'scope': ok = values.includes(ev.scope); break;
      case 'label': ok = matchLabels(attrs, values); break;
      case 'image':
        ok = ev.Type === 'image'
          ? values.some((v) => v === ev.Actor.ID || v === attrs.name || ev.Actor.ID.startsWith('sha256:' + v) || attrs.name?.split(':')[0] === v)
          : values.some((v) => v === attrs.image);
        break;
      case 'container': case 'network': case 'volume': case 'daemon': case 'plugin': case 'node': case 'service': case 'secret': case 'config':
        ok = ev.Type === key && values.some((v) => v === ev.Actor.ID || v === attrs.name || ev.Actor.ID.startsWith(v));
        break;
      default: ok = true;
    }
    if (!ok) return false;
  }
  return true;
}
