/** `--metrics-addr` parsing as Go's net.SplitHostPort reads it, and what counts as loopback (no warning). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopbackHost, parseMetricsAddr } from '../../src/daemon/metrics-server.js';

test("parseMetricsAddr: host:port, [v6]:port, :port; dockerd's words for the bad ones", () => {
  assert.deepEqual(parseMetricsAddr('127.0.0.1:9323'), { host: '127.0.0.1', port: 9323 });
  assert.deepEqual(parseMetricsAddr('[::1]:9323'), { host: '::1', port: 9323 });
  assert.deepEqual(parseMetricsAddr(':9323'), { host: '', port: 9323 });
  assert.deepEqual(parseMetricsAddr('localhost:0'), { host: 'localhost', port: 0 });
  assert.throws(() => parseMetricsAddr('9323'), /^Error: error setting up metrics server: listen tcp: address 9323: missing port in address$/);
  assert.throws(() => parseMetricsAddr('::1:9323'), /too many colons in address/);
  assert.throws(() => parseMetricsAddr('127.0.0.1:'), /invalid port/);
  assert.throws(() => parseMetricsAddr('127.0.0.1:65536'), /invalid port/);
  assert.throws(() => parseMetricsAddr('127.0.0.1:http'), /invalid port/);
  assert.throws(() => parseMetricsAddr('bad host!:9323'), /no such host/);
});

test('isLoopbackHost: 127/8, ::1 and localhost only; empty (every interface) is not', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['', '0.0.0.0', '::', '10.0.0.1', 'example.com']) assert.equal(isLoopbackHost(h), false, h);
});
