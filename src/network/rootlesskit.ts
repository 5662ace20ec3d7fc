/**
 * rootlesskit's port driver, asked over its REST API (`<state-dir>/api.sock`,
 * `POST /v1/ports`, `DELETE /v1/ports/{id}`). In rootless mode berthd and
 * its containers live in rootlesskit's network namespace; a published port
 * reaches them only if rootlesskit (outside, as the user) listens on the
 * host's port and forwards into the namespace. The builtin driver dials
 * `childIP:childPort` inside the namespace, where the CNI portmap rules
 * carry the connection to the container as they do for any local client.
 */
import { request } from 'node:http';
import { join } from 'node:path';

export interface PortSpec {
  proto: 'tcp' | 'udp' | 'sctp';
  parentIP: string;
  parentPort: number;
  childIP?: string;
  childPort: number;
}

function call(socket: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath: socket,
        method,
        path,
        headers: { Host: 'rootlesskit', ...(data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** rootlesskit's error text: its JSON `message`, else the body as it is. */
function messageOf(text: string): string {
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof m === 'string') return m;
  } catch {
    /* not JSON */
  }
  return text.trim();
}

export class RootlessKitPorts {
  private readonly socket: string;
  constructor(stateDir: string) {
    this.socket = join(stateDir, 'api.sock');
  }

  /** Listen on the host's parentIP:parentPort and forward into the namespace; returns the id to remove it by. */
  async expose(spec: PortSpec): Promise<number> {
    const r = await call(this.socket, 'POST', '/v1/ports', spec);
    if (r.status !== 201 && r.status !== 200)
      throw new Error(`rootlesskit could not expose ${spec.parentIP}:${spec.parentPort}/${spec.proto}: ${messageOf(r.text)}`);
    const id = (JSON.parse(r.text) as { id?: unknown }).id;
    if (typeof id !== 'number') throw new Error(`rootlesskit answered without a port id: ${r.text.trim()}`);
    return id;
  }

  async remove(id: number): Promise<void> {
    const r = await call(this.socket, 'DELETE', `/v1/ports/${id}`);
    if (r.status >= 300) throw new Error(`rootlesskit could not remove port ${id}: ${messageOf(r.text)}`);
  }
}
