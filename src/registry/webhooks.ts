/**
 * Webhooks: each registry event is POSTed as JSON (Distribution's envelope,
 * `{"events":[…]}`, media type application/vnd.docker.distribution.events.v1+json)
 * to every configured endpoint. Delivery is queued per endpoint and in order,
 * retried with exponential backoff on a network error or a non-2xx answer, and
 * never blocks the push or delete that caused it. With a `secret`, the body is
 * signed: `X-Berth-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.
 *
 * Config:  "notifications": { "endpoints": [ { "name": "ci", "url": "https://ci/hook",
 *            "secret": "…", "headers": { "X-Team": "a" }, "timeout": "5s",
 *            "retries": 5, "backoff": "1s", "actions": ["push", "delete"] } ] }
 */
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { log } from '../core/log.js';
import { EVENTS_MEDIA_TYPE, type EventAction, type RegistryEvent, type RegistryEvents } from './events.js';
import { list, obj, onlyKeys, optDuration, optNum, optStr, reqStr } from './settings.js';

export const SIGNATURE_HEADER = 'X-Berth-Signature-256';

export interface WebhookEndpoint {
  name: string;
  url: string;
  secret?: string;
  headers: Record<string, string>;
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  actions: EventAction[];
}

const MAX_QUEUE = 10_000;

export function parseNotifications(v: unknown): WebhookEndpoint[] {
  if (v === undefined || v === null) return [];
  const o = obj(v, 'notifications');
  onlyKeys(o, ['endpoints'], 'notifications');
  return list(o.endpoints, 'notifications.endpoints').map((raw, i) => {
    const what = `notifications.endpoints[${i}]`;
    const e = obj(raw, what);
    onlyKeys(e, ['name', 'url', 'secret', 'headers', 'timeout', 'retries', 'backoff', 'actions'], what);
    const url = reqStr(e.url, `${what}.url`);
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new Error(`${what}.url: invalid URL "${url}"`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${what}.url must be http or https`);
    const headers: Record<string, string> = {};
    if (e.headers !== undefined) {
      for (const [k, hv] of Object.entries(obj(e.headers, `${what}.headers`))) headers[k] = reqStr(hv, `${what}.headers.${k}`);
    }
    const actions = list(e.actions ?? ['push', 'delete'], `${what}.actions`).map((a) => {
      if (a !== 'push' && a !== 'delete') throw new Error(`${what}.actions: expected push or delete, got ${JSON.stringify(a)}`);
      return a;
    });
    return {
      name: optStr(e.name, `${what}.name`) ?? u.host,
      url,
      secret: optStr(e.secret, `${what}.secret`),
      headers,
      timeoutMs: optDuration(e.timeout, `${what}.timeout`) ?? 5000,
      retries: optNum(e.retries, `${what}.retries`) ?? 5,
      backoffMs: optDuration(e.backoff, `${what}.backoff`) ?? 1000,
      actions,
    };
  });
}

export function sign(secret: string, body: Buffer | string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/** POST once; resolves with the status, rejects on a network error, timeout or abort. */
function post(ep: WebhookEndpoint, body: Buffer, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(ep.url);
    const headers: Record<string, string | number> = {
      ...ep.headers,
      'Content-Type': EVENTS_MEDIA_TYPE,
      'Content-Length': body.length,
      'User-Agent': 'berth-registry-notifications',
    };
    if (ep.secret) headers[SIGNATURE_HEADER] = sign(ep.secret, body);
    const fn = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = fn(u, { method: 'POST', headers, timeout: ep.timeoutMs, signal }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${ep.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** One endpoint's queue: events go out one at a time, each retried before the next. */
class Sink {
  private readonly queue: RegistryEvent[] = [];
  private running = false;
  private idle: Array<() => void> = [];
  delivered = 0;
  failed = 0;

  constructor(
    readonly ep: WebhookEndpoint,
    private readonly signal: AbortSignal,
  ) {}

  push(e: RegistryEvent): void {
    if (!this.ep.actions.includes(e.action) || this.signal.aborted) return;
    if (this.queue.length >= MAX_QUEUE) {
      this.queue.shift();
      this.failed++;
      log.warn('webhook queue full: dropped the oldest event', { endpoint: this.ep.name });
    }
    this.queue.push(e);
    if (!this.running) void this.run();
  }

  whenIdle(): Promise<void> {
    if (!this.running && !this.queue.length) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.queue.length) {
      const e = this.queue.shift()!;
      const body = Buffer.from(JSON.stringify({ events: [e] }));
      let ok = false;
      for (let attempt = 0; attempt <= this.ep.retries && !ok && !this.signal.aborted; attempt++) {
        if (attempt > 0) await sleep(Math.min(this.ep.backoffMs * 2 ** (attempt - 1), 300_000), this.signal);
        if (this.signal.aborted) break;
        try {
          const status = await post(this.ep, body, this.signal);
          ok = status >= 200 && status < 300;
          if (!ok) log.warn('webhook refused', { endpoint: this.ep.name, status, attempt: attempt + 1 });
        } catch (err) {
          log.warn('webhook failed', { endpoint: this.ep.name, error: (err as Error).message, attempt: attempt + 1 });
        }
      }
      if (ok) this.delivered++;
      else if (this.signal.aborted) {
        this.failed += 1 + this.queue.length;
        log.warn('webhook: shutting down with events undelivered', { endpoint: this.ep.name, events: 1 + this.queue.length });
        this.queue.length = 0;
      } else {
        this.failed++;
        log.error('webhook gave up on an event', { endpoint: this.ep.name, event: e.id, attempts: this.ep.retries + 1 });
      }
    }
    this.running = false;
    for (const r of this.idle.splice(0)) r();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

export class Webhooks {
  readonly sinks: Sink[];
  private readonly stopper = new AbortController();

  constructor(endpoints: WebhookEndpoint[], events: RegistryEvents) {
    this.sinks = endpoints.map((ep) => new Sink(ep, this.stopper.signal));
    if (this.sinks.length) {
      events.on((e) => {
        for (const s of this.sinks) s.push(e);
      });
    }
  }

  /** Shutdown: abort deliveries in flight and drop what is queued (logged), so the server exits now. */
  async stop(): Promise<void> {
    this.stopper.abort();
    await this.drain();
  }

  /** Resolves when every queue is empty. */
  async drain(): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.whenIdle()));
  }
}
