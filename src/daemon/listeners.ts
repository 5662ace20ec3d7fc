/**
 * berthd's API listeners: every `-H` gets its own socket (unix, TCP with or
 * without TLS, or one systemd passed in with fd://), and every accepted
 * connection is handed to the one HTTP server from api/server.ts, so all
 * listeners serve the same routes behind the same error boundary. The HTTP
 * server itself never listens; this module owns the sockets, tracks the
 * connections, and closes both on shutdown.
 */
import { createServer as createNetServer, connect, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Server as HttpServer } from 'node:http';
import { log } from '../core/log.js';
import { type ApiAccess, type Host, hostString, socketGid, tlsMode } from './access.js';
import { identify } from './peer.js';

/**
 * As node:http's own server: a client's half-close (the docker CLI shuts its write side once it has
 * nothing to send on an attach) must not end our side, or the container's output is cut off.
 */
const SOCKET_OPTIONS = { allowHalfOpen: true, noDelay: true };

export interface Listeners {
  /** What is listening, as `-H` spells it. */
  readonly addresses: string[];
  /** Stop accepting, drop open connections, remove our unix sockets. */
  close(): Promise<void>;
}

/** Go's answer to plain HTTP on a TLS port, so curl and the docker CLI say what went wrong. */
const HTTP_ON_TLS =
  'HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function listen(server: NetServer, target: { path: string } | { host: string; port: number } | { fd: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(target, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * A unix socket that is never reachable with a wider mode than 0660: bind()
 * creates the socket file with 0777 & ~umask, so it is bound inside a fresh
 * 0700 directory beside the final path, chowned to root:group and chmodded
 * 0660 there, then renamed into place (rename is atomic and keeps the bound
 * inode). Changing the umask around listen() instead would be process-wide:
 * files the engine creates on libuv's thread pool at the same moment would
 * get the socket's restrictive mode.
 */
async function listenUnix(server: NetServer, path: string, gid: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  if (existsSync(path)) {
    if (await answers(path)) throw new Error(`another daemon is already listening on ${path}`);
    await unlink(path);
  }
  const dir = await mkdtemp(join(dirname(path), '.bs'));
  try {
    const tmp = join(dir, 's');
    await listen(server, { path: tmp });
    await chown(tmp, 0, gid);
    await chmod(tmp, 0o660);
    await rename(tmp, path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The sockets systemd passed (LISTEN_FDS from fd 3 on): all of them for fd://, one for fd://N. */
function activatedFds(want: number | undefined): number[] {
  const n = process.env.LISTEN_PID === String(process.pid) ? Number(process.env.LISTEN_FDS ?? 0) : 0;
  if (!n) throw new Error('no sockets found via socket activation: make sure the service was started by systemd');
  const fds = Array.from({ length: n }, (_, i) => 3 + i);
  if (want === undefined) return fds;
  if (!fds.includes(want)) throw new Error('too few socket activated files passed in by systemd');
  return [want];
}

export async function openListeners(hosts: Host[], access: ApiAccess, api: HttpServer): Promise<Listeners> {
  const mode = tlsMode(access);
  const open = new Set<Socket>();
  const servers: NetServer[] = [];
  const sockets: string[] = [];
  const addresses: string[] = [];
  const hand = (s: Socket) => {
    // Who is on the other end, once per connection (audit log, authorization policy).
    identify(s);
    open.add(s);
    s.once('close', () => open.delete(s));
    api.emit('connection', s);
  };

  let tlsServer: NetServer | undefined;
  if (mode !== 'off') {
    let secure;
    try {
      secure = {
        cert: readFileSync(access.certFile),
        key: readFileSync(access.keyFile),
        ...(mode === 'verify' ? { ca: readFileSync(access.caFile) } : {}),
      };
      // Only clients whose certificate chains to the CA get in (with tlsverify); nothing older than TLS 1.2.
      tlsServer = createTlsServer(
        { ...secure, allowHalfOpen: true, requestCert: mode === 'verify', rejectUnauthorized: mode === 'verify', minVersion: 'TLSv1.2' },
        hand,
      );
    } catch (err) {
      throw new Error(`invalid TLS configuration: ${(err as Error).message}`);
    }
    tlsServer.on('tlsClientError', (err: NodeJS.ErrnoException, s: TLSSocket) => {
      const raw = (s as TLSSocket & { _parent?: Socket })._parent;
      if (err.code === 'ERR_SSL_HTTP_REQUEST' && raw?.writable) raw.end(HTTP_ON_TLS);
      log.debug('TLS handshake refused', { remote: s.remoteAddress, error: err.code ?? err.message });
    });
  }
  // TLS sockets are counted once the handshake is done (hand); the raw TCP socket before it, so close() drops half-open handshakes too.
  const accept = (s: Socket) => {
    if (!tlsServer) return hand(s);
    open.add(s);
    s.once('close', () => open.delete(s));
    tlsServer.emit('connection', s);
  };

  const listeners: Listeners = {
    addresses,
    async close() {
      for (const s of servers) s.close();
      for (const s of open) s.destroy();
      tlsServer?.close();
      await Promise.all(sockets.map((p) => rm(p, { force: true })));
    },
  };
  try {
    for (const h of hosts) {
      if (h.proto === 'unix') {
        const server = createNetServer(SOCKET_OPTIONS, hand);
        servers.push(server);
        const { gid, warning } = socketGid(access.group, h.path);
        if (warning) log.warn(warning);
        await listenUnix(server, h.path, gid);
        sockets.push(h.path);
      } else if (h.proto === 'tcp') {
        const server = createNetServer(SOCKET_OPTIONS, accept);
        servers.push(server);
        await listen(server, { host: h.host, port: h.port });
      } else {
        for (const fd of activatedFds(h.fd)) {
          const server = createNetServer(SOCKET_OPTIONS, accept);
          servers.push(server);
          await listen(server, { fd });
        }
      }
      addresses.push(hostString(h));
    }
  } catch (err) {
    await listeners.close();
    throw err;
  }
  // As sd_listen_fds(unset_environment): containers and helpers berthd starts must not think the sockets are theirs.
  delete process.env.LISTEN_FDS;
  delete process.env.LISTEN_PID;
  delete process.env.LISTEN_FDNAMES;
  return listeners;
}
