/**
 * Who is on the other end of an API connection, as the listener saw it when
 * the connection was accepted: the unix socket peer's credentials
 * (SO_PEERCRED, taken once per connection, so a client cannot change who it
 * is between requests), or the TLS client certificate's subject. The
 * listeners (daemon/) capture it; the audit log and the policy read it here,
 * by socket, so the HTTP layer only passes the socket along.
 */
import { CONSOLE_USER_HEADER, CONSOLE_USER_NAME } from '../../core/console-user.js';

export interface Identity {
  /** How the client came in. */
  transport: 'unix' | 'tls' | 'tcp';
  uid?: number;
  gid?: number;
  pid?: number;
  /** The uid's name in /etc/passwd, when it has one. */
  user?: string;
  /** Names of the peer's groups (primary and supplementary), for the policy's `groups`. */
  groups?: string[];
  /** gids of the peer's groups (primary and supplementary). */
  gids?: number[];
  /** The TLS client certificate's subject CN and its SHA-256 fingerprint. */
  cn?: string;
  fingerprint?: string;
  /** The remote address of a TCP client. */
  remote?: string;
  /** Set by the listener on berthd's private console socket: the only place the console user header is trusted. */
  console?: true;
  /** The signed-in console user a request came through the console for (its `user` is then `console:<name>`). */
  consoleUser?: string;
}

const bySocket = new WeakMap<object, Identity>();

export function setIdentity(socket: object, id: Identity): void {
  bySocket.set(socket, id);
}

/** The identity the listener recorded for this socket; a socket nobody identified is an unknown TCP peer. */
export function identityOf(socket: object): Identity {
  return bySocket.get(socket) ?? { transport: 'tcp' };
}

/**
 * Who made this request: the socket's identity, named `console:<user>` when it came through the
 * console's private socket with the console user header (core/console-user.ts). The header is
 * ignored on every other socket (the API server also strips it there).
 */
export function requestIdentity(socket: object, headers: Record<string, string | string[] | undefined>): Identity {
  const id = identityOf(socket);
  const name = headers[CONSOLE_USER_HEADER];
  if (!id.console || typeof name !== 'string' || !CONSOLE_USER_NAME.test(name)) return id;
  return { ...id, user: `console:${name}`, consoleUser: name };
}

/**
 * Whether this is root on the local machine: uid 0 through the unix socket. A console user is not,
 * though the console connects as berthd's own uid: the policy judges them by `console-users`.
 */
export function isLocalRoot(id: Identity): boolean {
  return id.transport === 'unix' && id.uid === 0 && id.consoleUser === undefined;
}

/** A short description for messages: "uid 1001 (alice)", "TLS client CN=ci". */
export function describe(id: Identity): string {
  if (id.consoleUser !== undefined) return `console user ${id.consoleUser}`;
  if (id.cn !== undefined) return `TLS client CN=${id.cn}`;
  if (id.uid !== undefined) return `uid ${id.uid}${id.user ? ` (${id.user})` : ''}`;
  return id.remote ? `client ${id.remote}` : 'an unidentified client';
}
