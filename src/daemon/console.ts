/**
 * Starting the web console (src/console/) from berthd: `--console-addr`
 * (daemon.json `console-addr`, off by default). Checked before anything
 * opens: a non-loopback address without TLS is refused, as the API's TCP
 * listeners are. The console reaches the API through a private unix socket
 * in the exec root (0600, in a 0700 directory) served by the same API
 * server; connections there are marked as the console's, the only ones
 * whose console user header the API trusts (engine/audit/identity.ts).
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Server as HttpServer } from 'node:http';
import { setIdentity } from '../engine/audit/identity.js';
import { startConsole } from '../console/server.js';
import { log } from '../core/log.js';
import { type ApiAccess, tlsMode } from './access.js';

export interface ConsoleSettings {
  addr: string;
  htpasswd?: string;
  tlsCert?: string;
  tlsKey?: string;
}

export interface ConsolePlan {
  host: string;
  port: number;
  htpasswd?: string;
  tls?: { cert: Buffer; key: Buffer };
}

function parseAddr(raw: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(raw.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port > 65535) throw new Error(`invalid console-addr ${JSON.stringify(raw)}: ADDR:PORT is expected, e.g. 127.0.0.1:9000`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

function loopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** The console's address and TLS, or an error in the words of the API's TCP refusal. */
export function planConsole(c: ConsoleSettings, access: ApiAccess): ConsolePlan {
  const { host, port } = parseAddr(c.addr);
  let certFile = c.tlsCert;
  let keyFile = c.tlsKey;
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new Error('invalid console TLS configuration: give both --console-tlscert and --console-tlskey');
  if (certFile === undefined && tlsMode(access) !== 'off') {
    certFile = access.certFile;
    keyFile = access.keyFile;
  }
  let tls: ConsolePlan['tls'];
  if (certFile !== undefined && keyFile !== undefined) {
    try {
      tls = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
    } catch (err) {
      throw new Error(`invalid console TLS configuration: ${(err as Error).message}`);
    }
  }
  if (!tls && !loopback(host))
    throw new Error(
      `refusing to serve the console on http://${c.addr}: Binding the console to a non-loopback address without TLS is insecure and gives root access on this machine to everyone who can read its traffic. ` +
        "Use --console-tlscert and --console-tlskey (or the API's --tls with --tlscert and --tlskey), or a loopback address such as 127.0.0.1:9000",
    );
  return { host, port, htpasswd: c.htpasswd, tls };
}

/** The private API socket and the console server; returns what to close at shutdown. */
export async function openConsole(plan: ConsolePlan, api: HttpServer, execRoot: string, dataRoot: string): Promise<{ close(): Promise<void> }> {
  const dir = join(execRoot, 'console');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const path = join(dir, 'api.sock');
  const open = new Set<Socket>();
  const sockServer: NetServer = createNetServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    setIdentity(s, { transport: 'unix', uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, pid: process.pid, user: 'root', console: true });
    open.add(s);
    s.once('close', () => open.delete(s));
    api.emit('connection', s);
  });
  await new Promise<void>((resolve, reject) => {
    sockServer.once('error', reject);
    sockServer.listen(path, () => resolve());
  });
  await chmod(path, 0o600);
  const idle = Number(process.env.BERTH_CONSOLE_IDLE_SECONDS);
  let web;
  try {
    web = await startConsole({
      host: plan.host,
      port: plan.port,
      apiSocket: path,
      htpasswd: plan.htpasswd,
      dataRoot,
      tls: plan.tls,
      // For tests of an expired session: a shorter idle expiry than the default 30 minutes.
      ...(idle > 0 ? { limits: { idleMs: idle * 1000, absoluteMs: 12 * 3600_000 } } : {}),
    });
  } catch (err) {
    sockServer.close();
    throw new Error(`cannot serve the console on ${plan.host}:${plan.port}: ${(err as Error).message}`);
  }
  log.info(`Console listen on ${web.url}`);
  return {
    async close() {
      await web.close();
      sockServer.close();
      for (const s of open) s.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
