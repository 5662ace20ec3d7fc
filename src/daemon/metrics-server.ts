/**
 * `--metrics-addr` (daemon.json `metrics-addr`), as dockerd: a plain-HTTP listener that
 * serves the engine's Prometheus metrics at GET /metrics (404 elsewhere, 405 for other
 * methods). Off unless set. Any address is allowed, as dockerd allows it, with a warning
 * when it is reachable beyond loopback (the metrics name every container and image).
 * A bad address or a port in use refuses berthd's start with dockerd's words.
 */
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { log } from '../core/log.js';
import type { EngineMetrics } from '../engine/metrics/recorder.js';

const PREFIX = 'error setting up metrics server';

/** Split `host:port` as Go's net.SplitHostPort does (`[::1]:9323`, `:9323`); throws dockerd's message. */
export function parseMetricsAddr(addr: string): { host: string; port: number } {
  const fail = (why: string) => new Error(`${PREFIX}: listen tcp: address ${addr}: ${why}`);
  let host: string;
  let portText: string;
  const bracket = /^\[([^\]]*)\]:(.*)$/.exec(addr);
  if (bracket) [, host, portText] = bracket as unknown as [string, string, string];
  else {
    const i = addr.lastIndexOf(':');
    if (i < 0) throw fail('missing port in address');
    host = addr.slice(0, i);
    portText = addr.slice(i + 1);
    if (host.includes(':')) throw fail('too many colons in address');
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw fail('invalid port');
  if (host !== '' && isIP(host) === 0 && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(host)) throw fail('no such host');
  return { host, port: Number(portText) };
}

/** Loopback only: 127.0.0.0/8, ::1, localhost. An empty host means every interface. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export interface MetricsListener {
  /** `host:port` it listens on (the OS's port when 0 was asked). */
  address: string;
  close(): Promise<void>;
}

export async function startMetricsServer(addr: string, metrics: EngineMetrics): Promise<MetricsListener> {
  const { host, port } = parseMetricsAddr(addr);
  if (!isLoopbackHost(host))
    log.warn(`metrics-addr ${addr} is reachable beyond this host: anyone who can connect reads every container's name, image, labels and usage (plain HTTP)`);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
      res.end(body);
    };
    req.resume();
    if (path !== '/metrics') return text(404, '404 page not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'Method Not Allowed\n', { Allow: 'GET, HEAD' });
    metrics.expose().then(
      (out) => {
        if (!out) return text(404, '404 page not found\n');
        res.writeHead(200, { 'Content-Type': out.contentType, 'Content-Length': Buffer.byteLength(out.body) });
        res.end(req.method === 'HEAD' ? undefined : out.body);
      },
      (err: Error) => {
        log.error('metrics scrape failed', { error: err.message });
        if (!res.headersSent) text(500, `metrics: ${err.message}\n`);
        else res.destroy();
      },
    );
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: Error) => reject(new Error(`${PREFIX}: listen tcp ${addr}: ${err.message}`)));
    server.listen({ host: host === '' ? undefined : host, port }, () => resolve());
  });
  const a = server.address();
  const address = a && typeof a === 'object' ? (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`) : addr;
  log.info(`metrics API listening on ${address}`);
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
