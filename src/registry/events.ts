/**
 * Registry events: what happened to a repository (a manifest or blob pushed, a
 * manifest, tag or blob deleted), in the shape of Distribution's notification
 * envelope. The server emits them after a write has been stored and answered;
 * webhooks and event-triggered replication subscribe. A listener never blocks
 * or fails the write that caused the event.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { log } from '../core/log.js';

export type EventAction = 'push' | 'delete';

export interface EventTarget {
  mediaType?: string;
  size?: number;
  length?: number;
  digest?: string;
  repository: string;
  url?: string;
  tag?: string;
}

export interface RegistryEvent {
  id: string;
  timestamp: string;
  action: EventAction;
  target: EventTarget;
  request: { id: string; addr: string; host: string; method: string; useragent: string };
  actor: { name?: string };
  source: { addr: string; instanceID: string };
}

export type EventListener = (e: RegistryEvent) => void;

/** The envelope's media type, as Distribution sends it. */
export const EVENTS_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v1+json';

export class RegistryEvents {
  private readonly listeners: EventListener[] = [];
  readonly instanceID = randomUUID();
  /** host:port this server listens on, for `source.addr`. */
  sourceAddr = '';

  on(fn: EventListener): void {
    this.listeners.push(fn);
  }

  get wanted(): boolean {
    return this.listeners.length > 0;
  }

  /** Build the event for a request and hand it to every listener (errors are logged, never thrown). */
  emit(action: EventAction, target: EventTarget, how: { kind: 'manifests' | 'blobs'; req?: IncomingMessage; user?: string; base?: string }): void {
    if (!this.listeners.length) return;
    const req = how.req;
    const e: RegistryEvent = {
      id: randomUUID(),
      timestamp: new Date().toISOString(),
      action,
      target: {
        ...target,
        ...(target.size !== undefined ? { length: target.size } : {}),
        ...(target.digest ? { url: `${how.base ?? ''}/v2/${target.repository}/${how.kind}/${target.digest}` } : {}),
      },
      request: {
        id: randomUUID(),
        addr: req ? `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}` : '',
        host: String(req?.headers.host ?? ''),
        method: req?.method ?? '',
        useragent: String(req?.headers['user-agent'] ?? ''),
      },
      actor: how.user ? { name: how.user } : {},
      source: { addr: this.sourceAddr, instanceID: this.instanceID },
    };
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch (err) {
        log.warn('event listener failed', { error: (err as Error).message });
      }
    }
  }
}
