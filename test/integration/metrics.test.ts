/**
 * `--metrics-addr` end to end: a real Prometheus server (Debian's `prometheus`, on loopback)
 * scrapes berthd every second and answers queries about containers started through the real
 * docker CLI; scrapes while containers come and go; the listener's 404/405; the engine's own
 * metrics; a bad address refuses the start; the default is no listener at all.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { get, request as httpRequest } from 'node:http';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Daemon, startDaemon, importBusybox, tempDir, cleanupDir, run, BERTHD } from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let d: Daemon;
let metricsAddr: string;

/** The address berthd logged for its metrics listener. */
function loggedAddr(log: string): string {
  const m = /metrics API listening on (\S+?)["\s]/.exec(log);
  assert.ok(m, `no metrics listener in the log:\n${log}`);
  return m[1]!;
}

function scrape(addr: string, path = '/metrics', method = 'GET'): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A port nobody listens on now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Minimal parse of the text format: every non-comment line is `name{labels} value`. */
function parseExposition(body: string): Array<{ name: string; labels: string; value: number }> {
  const out: Array<{ name: string; labels: string; value: number }> = [];
  for (const line of body.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    assert.ok(m, `unparseable line: ${line}`);
    // Go's ParseFloat, which Prometheus uses, takes NaN and Inf in any case (prom-client writes "Nan").
    const v = m[3]!.toLowerCase();
    const value = v === '+inf' || v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v);
    assert.ok(!Number.isNaN(value) || v === 'nan', `bad value in: ${line}`);
    out.push({ name: m[1]!, labels: m[2] ?? '', value });
  }
  return out;
}

before(async () => {
  d = await startDaemon(['--metrics-addr', '127.0.0.1:0']);
  await importBusybox(d);
  metricsAddr = loggedAddr(d.log);
});
after(async () => {
  await d.cleanup();
});

test("a real Prometheus scrapes berthd: the -m 2g limit reads 2147483648, a busy loop's CPU counter grows", async (t) => {
  const r = await d.docker(['run', '-d', '--name', 'promtest', '-m', '2g', '--label', 'com.example.team=infra', 'busybox', 'sh', '-c', 'while :; do :; done']);
  assert.equal(r.code, 0, r.stderr);
  const dir = tempDir('berth-prom-');
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: berthd\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['${metricsAddr}']\n`,
  );
  mkdirSync(join(dir, 'data'));
  let promLog = '';
  const prom: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prom.stdout!.on('data', (b: Buffer) => (promLog += b.toString()));
  prom.stderr!.on('data', (b: Buffer) => (promLog += b.toString()));
  t.after(async () => {
    if (prom.exitCode === null) {
      const gone = new Promise((r) => prom.once('exit', r));
      prom.kill('SIGTERM');
      await gone;
    }
    cleanupDir(dir);
  });
  const query = (q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> =>
    new Promise((resolve, reject) => {
      get(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          try {
            const j = JSON.parse(body) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
            resolve(j.status === 'success' ? j.data.result : []);
          } catch (e) {
            reject(e);
          }
        });
      }).on('error', () => resolve([]));
    });
  let limit: Array<{ metric: Record<string, string>; value: [number, string] }> = [];
  let cpu = 0;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    assert.equal(prom.exitCode, null, `prometheus exited:\n${promLog}`);
    limit = await query('container_spec_memory_limit_bytes{name="promtest"}');
    const c = await query('container_cpu_usage_seconds_total{name="promtest"}');
    cpu = c.length ? Number(c[0]!.value[1]) : 0;
    if (limit.length && cpu > 0) break;
    await sleep(500);
  }
  assert.equal(limit.length, 1, `Prometheus never had the series:\n${promLog}`);
  assert.equal(Number(limit[0]!.value[1]), 2147483648);
  // cAdvisor's labels: id (the cgroup path), image, name, and the container's labels.
  const id = (await d.docker(['inspect', '-f', '{{.Id}}', 'promtest'])).stdout.trim();
  assert.equal(limit[0]!.metric.id, `/berth/${id}`);
  assert.equal(limit[0]!.metric.image, 'busybox');
  assert.equal(limit[0]!.metric.container_label_com_example_team, 'infra');
  assert.ok(cpu > 0, `cpu usage ${cpu}`);
  // The target is healthy from Prometheus's side too.
  const up = await query('up{job="berthd"}');
  assert.equal(up[0]?.value[1], '1');
  await d.docker(['rm', '-f', 'promtest']);
});

test('scrapes while containers come and go all answer 200 with a parseable body', async () => {
  let churn = true;
  const churner = (async () => {
    let i = 0;
    while (churn) {
      const name = `churn${i++}`;
      await d.berth(['create', '--name', name, 'busybox', 'sleep', '30']);
      await d.berth(['start', name]);
      await d.berth(['rm', '-f', name]);
    }
  })();
  try {
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_v, i) => {
        await sleep(i * 100);
        return scrape(metricsAddr);
      }),
    );
    for (const r of results) {
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      const samples = parseExposition(r.body);
      assert.ok(samples.some((s) => s.name === 'berth_containers'));
    }
  } finally {
    churn = false;
    await churner;
  }
  assert.equal((await d.berth(['version'])).code, 0, 'berthd still answers');
});

test('the listener: /metrics only, GET and HEAD only', async () => {
  assert.equal((await scrape(metricsAddr, '/')).status, 404);
  assert.equal((await scrape(metricsAddr, '/metrics/x')).status, 404);
  assert.equal((await scrape(metricsAddr, '/containers/json')).status, 404, 'the Engine API is not served there');
  const post = await scrape(metricsAddr, '/metrics', 'POST');
  assert.equal(post.status, 405);
  assert.match(String(post.headers.allow), /GET/);
  assert.equal((await scrape(metricsAddr, '/metrics', 'HEAD')).status, 200);
  // Garbage instead of HTTP, and a client that leaves mid-request: the listener drops them and keeps serving.
  const i = metricsAddr.lastIndexOf(':');
  for (const junk of ['\x00\x01 not http\r\n\r\n', 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99\r\n\r\nab']) {
    await new Promise<void>((resolve) => {
      const sock = connect(Number(metricsAddr.slice(i + 1)), metricsAddr.slice(0, i), () => {
        sock.write(junk);
        setTimeout(() => sock.destroy(), 200);
      });
      sock.on('error', () => undefined);
      sock.on('close', () => resolve());
    });
  }
  assert.equal((await scrape(metricsAddr)).status, 200);
});

test('engine metrics: containers by state, images, API requests by route template (never a raw ID), Node process metrics', async () => {
  const r = await d.berth(['run', '-d', '--name', 'counted', 'busybox', 'sleep', '300']);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  await d.berth(['stop', '-t', '0', 'counted']);
  await d.berth(['start', 'counted']);
  await d.berth(['inspect', 'nosuchcontainer']);
  // A pull that fails (nothing listens there) and a classic build that succeeds, through the docker CLI.
  const pull = await d.docker(['pull', `127.0.0.1:${await freePort()}/nothing:latest`]);
  assert.notEqual(pull.code, 0);
  const ctx = tempDir('berth-metrics-build-');
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo built > /built\n');
  const built = await run('docker', ['build', '-q', '-t', 'metrics-built', ctx], {
    env: { ...process.env, DOCKER_HOST: d.host, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: join(d.dir, 'docker-config') },
  });
  cleanupDir(ctx);
  assert.equal(built.code, 0, built.stderr);
  const body = (await scrape(metricsAddr)).body;
  const samples = parseExposition(body);
  const running = samples.find((s) => s.name === 'berth_containers' && s.labels.includes('state="running"'));
  assert.ok(running && running.value >= 1, 'running containers counted');
  assert.ok(samples.some((s) => s.name === 'engine_daemon_container_states_containers' && s.labels.includes('state="running"') && s.value >= 1));
  assert.ok(samples.some((s) => s.name === 'berth_images' && s.value >= 2));
  assert.equal(samples.find((s) => s.name === 'berth_pulls_total' && s.labels === '{outcome="failure"}')?.value, 1);
  assert.equal(samples.find((s) => s.name === 'berth_pull_duration_seconds_count' && s.labels === '{outcome="failure"}')?.value, 1);
  assert.equal(samples.find((s) => s.name === 'berth_builds_total' && s.labels === '{outcome="success"}')?.value, 1);
  assert.ok(samples.some((s) => s.name === 'berth_build_duration_seconds_bucket' && s.labels.includes('le="+Inf"') && s.value === 1));
  const starts = samples.find(
    (s) => s.name === 'berth_api_requests_total' && s.labels.includes('route="/containers/{id}/start"') && s.labels.includes('status="204"'),
  );
  assert.ok(starts && starts.value >= 1, 'start counted under its template');
  assert.ok(
    samples.some((s) => s.name === 'berth_api_requests_total' && s.labels.includes('route="/containers/{id}/json"') && s.labels.includes('status="404"')),
  );
  assert.ok(samples.some((s) => s.name === 'berth_api_request_duration_seconds_count' && s.labels.includes('route="/containers/{id}/start"')));
  assert.ok(!body.split('\n').some((l) => l.startsWith('berth_api_') && l.includes(id.slice(0, 12))), 'no raw ID in a route label');
  assert.ok(samples.some((s) => s.name === 'process_resident_memory_bytes' && s.value > 0));
  assert.ok(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds'));
  // Per-container families of a running container, with cAdvisor's units.
  const mine = samples.filter((s) => s.labels.includes(`id="/berth/${id}"`));
  for (const name of [
    'container_cpu_usage_seconds_total',
    'container_memory_working_set_bytes',
    'container_spec_cpu_shares',
    'container_spec_cpu_period',
    'container_processes',
    'container_last_seen',
    'container_start_time_seconds',
    'container_oom_events_total',
    'container_network_receive_bytes_total',
  ])
    assert.ok(
      mine.some((s) => s.name === name),
      `${name} missing`,
    );
  assert.equal(mine.find((s) => s.name === 'container_processes')?.value, 1);
  assert.equal(mine.find((s) => s.name === 'container_spec_memory_limit_bytes')?.value, 0, 'unlimited reads 0');
  const started = mine.find((s) => s.name === 'container_start_time_seconds')!.value;
  assert.ok(Math.abs(started - Date.now() / 1000) < 300, `start time ${started}`);
  assert.ok(!samples.some((s) => s.name === 'container_spec_cpu_quota' && s.labels.includes(id)), 'no quota: no series, as cAdvisor');
  await d.berth(['rm', '-f', 'counted']);
  const after = (await scrape(metricsAddr)).body;
  assert.ok(!after.includes(`/berth/${id}`), 'a removed container has no series');
});

test('a bad metrics-addr refuses the start with a clear message; a port in use too', async () => {
  for (const [addr, want] of [
    ['nonsense', /error setting up metrics server: listen tcp: address nonsense: missing port in address/],
    ['127.0.0.1:99999', /error setting up metrics server: .*invalid port/],
    ['a:b:9323', /too many colons/],
    [metricsAddr, /error setting up metrics server: listen tcp .*EADDRINUSE/],
  ] as const) {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, 'daemon.json'), '{}\n');
      const r = await run(
        process.execPath,
        [
          BERTHD,
          '-H',
          `unix://${join(dir, 's.sock')}`,
          '--data-root',
          join(dir, 'root'),
          '--exec-root',
          join(dir, 'exec'),
          '--config-file',
          join(dir, 'daemon.json'),
          '--metrics-addr',
          addr,
        ],
        { timeoutMs: 60_000 },
      );
      assert.equal(r.code, 1, `${addr}: ${r.stderr}`);
      assert.match(r.stderr, want);
    } finally {
      cleanupDir(dir);
    }
  }
});

test("metrics are off by default: no listener, and the flag and daemon.json key conflict as dockerd's do", async () => {
  const plain = await startDaemon();
  try {
    assert.doesNotMatch(plain.log, /metrics API listening/);
    const ss = spawnSync('ss', ['-Hltnp'], { encoding: 'utf8' }).stdout;
    assert.ok(!ss.split('\n').some((l) => l.includes(`pid=${plain.proc!.pid},`)), `berthd listens on TCP:\n${ss}`);
  } finally {
    await plain.cleanup();
  }
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ 'metrics-addr': '127.0.0.1:0' }));
    const r = await run(
      process.execPath,
      [BERTHD, '--config-file', join(dir, 'daemon.json'), '--metrics-addr', '127.0.0.1:0', '--data-root', join(dir, 'root')],
      {
        timeoutMs: 60_000,
      },
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /metrics-addr: \(from flag: "127\.0\.0\.1:0", from file: "127\.0\.0\.1:0"\)/);
  } finally {
    cleanupDir(dir);
  }
});
