/**
 * The embedded DNS server answers only askers on its own network: run on a
 * loopback address with a loopback "subnet", asked over UDP and TCP from an
 * address inside it and from one outside it. Only names the lookup owns are
 * asked, so nothing is relayed off the machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import { DnsServer } from '../../src/network/dns.js';

const SERVER = '127.77.0.1';
const INSIDE = '127.77.0.2';
const OUTSIDE = '127.78.0.2';
const PORT = 20000 + Math.floor(Math.random() * 20000);

/** A query for `name`, type A, class IN, recursion desired. */
function query(id: number, name: string): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head[2] = 0x01;
  head.writeUInt16BE(1, 4);
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([head, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

/** The A records of a reply (its answers all point back at the question). */
function addresses(reply: Buffer): string[] {
  const count = reply.readUInt16BE(6);
  let off = 12;
  while (reply[off] !== 0) off += reply[off]! + 1;
  off += 5;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    out.push([...reply.subarray(off + 12, off + 16)].join('.'));
    off += 16;
  }
  return out;
}

async function udpFrom(address: string): Promise<{ sock: UdpSocket; replies: Buffer[] }> {
  const sock = createSocket('udp4');
  const replies: Buffer[] = [];
  sock.on('message', (m) => replies.push(m));
  await new Promise<void>((r) => sock.bind(0, address, r));
  return { sock, replies };
}

async function withServer(fn: (s: DnsServer) => Promise<void>): Promise<void> {
  const server = new DnsServer(SERVER, '127.77.0.0/16', (name) => (name === 'svc' ? ['10.0.0.9'] : undefined), PORT);
  await server.start();
  try {
    await fn(server);
  } finally {
    server.close();
  }
}

test('UDP: an asker on the network gets its names; one off the network gets no reply at all', async () => {
  await withServer(async () => {
    const outside = await udpFrom(OUTSIDE);
    const inside = await udpFrom(INSIDE);
    try {
      // The refused query goes first: the server handles datagrams in order, so its reply,
      // had there been one, is in before the accepted query's.
      outside.sock.send(query(1, 'svc'), PORT, SERVER);
      await new Promise<void>((r) => setImmediate(r));
      inside.sock.send(query(2, 'svc'), PORT, SERVER);
      while (!inside.replies.length) await new Promise((r) => setTimeout(r, 5));
      assert.equal(inside.replies[0]!.readUInt16BE(0), 2);
      assert.deepEqual(addresses(inside.replies[0]!), ['10.0.0.9']);
      await new Promise<void>((r) => setImmediate(r));
      assert.deepEqual(outside.replies, []);
    } finally {
      outside.sock.close();
      inside.sock.close();
    }
  });
});

/** One query over TCP from `from`: the reply, or undefined when the server closes without one. */
function tcpAsk(from: string, name: string): Promise<{ reply?: Buffer; error?: string }> {
  return new Promise((resolve) => {
    const sock = connect({ host: SERVER, port: PORT, localAddress: from });
    let data = Buffer.alloc(0);
    let error: string | undefined;
    sock.on('connect', () => {
      const q = query(3, name);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.length);
      sock.write(Buffer.concat([len, q]));
    });
    sock.on('data', (b: Buffer) => {
      data = Buffer.concat([data, b]);
      if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        sock.end();
        resolve({ reply: data.subarray(2) });
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code;
    });
    sock.on('close', () => resolve({ error }));
  });
}

test('TCP: an asker on the network gets its names; one off the network is reset without a reply', async () => {
  await withServer(async (server) => {
    const ok = await tcpAsk(INSIDE, 'svc');
    assert.ok(ok.reply, `no reply (${ok.error})`);
    assert.deepEqual(addresses(ok.reply), ['10.0.0.9']);
    const refused = await tcpAsk(OUTSIDE, 'svc');
    assert.equal(refused.reply, undefined);
    assert.equal(refused.error, 'ECONNRESET');
    assert.equal(server.accepts('::ffff:127.77.3.4'), true);
    assert.equal(server.accepts('127.78.0.1'), false);
    assert.equal(server.accepts('garbage'), false);
  });
});
