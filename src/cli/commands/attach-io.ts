/**
 * The terminal plumbing `run`, `start -a`, `attach` and `exec` share: copying a hijacked
 * stream to our stdout/stderr, forwarding stdin with the detach keys, resizing the TTY
 * and reading a wait's exit status. Apart so each command module holds only its command.
 */
import type { Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Client } from '../../client/client.js';
import { Demuxer } from '../../core/wire/stdcopy.js';
import { DEFAULT_DETACH_KEYS, EscapeScanner, parseDetachKeys } from '../../core/detach-keys.js';
import { CliExit } from '../cli.js';
import { configuredDetachKeys } from '../credentials.js';
import { daemonError } from './daemon-error.js';

export interface Inspect {
  Id: string;
  Name: string;
  Config: { Tty: boolean; OpenStdin: boolean; AttachStdin?: boolean };
  State: { Running: boolean; ExitCode: number };
}

/** GET /containers/NAME/json, a daemon error as docker's message and exit 1. */
export function inspectContainer(client: Client, name: string): Promise<Inspect> {
  return client.json<Inspect>('GET', `/containers/${encodeURIComponent(name)}/json`).catch(daemonError);
}

/** The StatusCode of a POST /containers/ID/wait answer, read to its end. */
export async function waitStatus(waitRes: IncomingMessage): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const c of waitRes) chunks.push(c as Buffer);
  return (JSON.parse(Buffer.concat(chunks).toString()) as { StatusCode: number }).StatusCode;
}

/** Copy a hijacked stream to our stdout/stderr: raw for a TTY, demultiplexed otherwise. */
export function pumpOutput(sock: Socket, tty: boolean): Promise<void> {
  return new Promise((resolve) => {
    if (tty) {
      sock.on('data', (b: Buffer) => process.stdout.write(b));
    } else {
      const d = new Demuxer();
      sock.on('data', (b: Buffer) => {
        for (const f of d.push(b)) (f.stream === 2 ? process.stderr : process.stdout).write(f.data);
      });
    }
    sock.on('end', () => resolve());
    sock.on('close', () => resolve());
    sock.on('error', () => resolve());
  });
}

/**
 * Forward our terminal (or piped stdin) into the container. On a TTY the detach keys
 * (docker's ctrl-p ctrl-q unless --detach-keys says otherwise) are caught here: they
 * call `onDetach` instead of reaching the container.
 */
export function pumpInput(sock: Socket, tty: boolean, detachKeys: string | undefined, onDetach: () => void): () => void {
  const stdin = process.stdin;
  if (tty && stdin.isTTY) stdin.setRawMode(true);
  const scan = tty ? new EscapeScanner(parseDetachKeys(detachKeys || DEFAULT_DETACH_KEYS)) : null;
  const onData = (b: Buffer) => {
    const out = scan ? scan.push(b) : b;
    if (out.length) sock.write(out);
    if (scan?.detached) onDetach();
  };
  stdin.on('data', onData);
  stdin.on('end', () => sock.end());
  return () => {
    stdin.off('data', onData);
    if (tty && stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
  };
}

/** --detach-keys, else config.json's detachKeys (docker's order). */
export function detachKeysOf(f: Record<string, unknown>): string | undefined {
  return (f['detach-keys'] as string | undefined) || configuredDetachKeys();
}

/** Check --detach-keys before anything starts, with docker's words. */
export function checkDetachKeys(spec: string | undefined): void {
  if (!spec) return;
  try {
    parseDetachKeys(spec);
  } catch (e) {
    throw new CliExit(125, `berth: Invalid detach keys (${spec}) provided: ${(e as Error).message}.`);
  }
}

export async function resize(client: Client, id: string): Promise<void> {
  if (!process.stdout.isTTY) return;
  await client.json('POST', `/containers/${id}/resize`, { query: { h: process.stdout.rows, w: process.stdout.columns } }).catch(() => {});
}
