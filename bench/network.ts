/**
 * Network benchmarks, Berth against Docker, printed with ratios. Each engine
 * runs on private roots and sockets made here; the real dockerd runs with its
 * normal networking (docker0, its iptables chains, FORWARD policy DROP) and is
 * cleaned up after: its bridge, chains and jumps removed, the FORWARD policy
 * restored.
 *
 *   http req/s        busybox httpd behind `-p 127.0.0.1:P:80`, 8 concurrent clients, new connection per request, 5 s
 *   tcp MB/s          bytes pushed from the host through `-p 127.0.0.1:P:5001` into `nc` in the container, 3 s
 *   c2c latency       ping RTT between two containers on a user network (avg of 20)
 *   50 networks       create then remove 50 bridge networks through the API (explicit /24 subnets)
 *
 * Only loopback and the engines' own containers are sent traffic.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { get, request } from 'node:http';
import { join } from 'node:path';
import { BERTH, Daemon, busyboxTar, http, run, tempDir, dropNetworkRules, type RunResult } from '../test/helpers.js';

const HTTP_SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 5);
const TCP_SECONDS = Number(process.env.BENCH_TCP_SECONDS ?? 3);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Engine {
  name: string;
  socket: string;
  cli: (args: string[]) => Promise<RunResult>;
  cleanup: () => Promise<void>;
}

async function must(p: Promise<RunResult>): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

function httpOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

async function httpRps(port: number): Promise<number> {
  for (let i = 0; i < 100 && !(await httpOnce(port)); i++) await sleep(100);
  let done = 0;
  const end = Date.now() + HTTP_SECONDS * 1000;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (Date.now() < end) if (await httpOnce(port)) done++;
  }));
  return done / ((Date.now() - t0) / 1000);
}

/** Until nc listens: retry a refused connect for a while. */
async function tcpMBsRetry(port: number): Promise<number> {
  for (let i = 0; ; i++) {
    try { return await tcpMBs(port); } catch (e) {
      if (i >= 50 || (e as NodeJS.ErrnoException).code !== 'ECONNREFUSED') throw e;
      await sleep(100);
    }
  }
}

function tcpMBs(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(256 * 1024, 7);
    let sent = 0;
    const t0 = Date.now();
    const s = connect(port, '127.0.0.1');
    s.on('error', reject);
    const pump = () => {
      while (Date.now() - t0 < TCP_SECONDS * 1000) {
        sent += chunk.length;
        if (!s.write(chunk)) { s.once('drain', pump); return; }
      }
      s.end();
    };
    s.on('connect', pump);
    s.on('close', () => resolve(sent / 1e6 / ((Date.now() - t0) / 1000)));
  });
}

/** One API call with a JSON body (dockerd insists on the Content-Type). */
function api(socketPath: string, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {} }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => { b += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function measure(e: Engine, port: number): Promise<Record<string, number>> {
  const r: Record<string, number> = {};
  await must(e.cli(['run', '-d', '--name', 'bhttp', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sh', '-c', 'mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www']));
  r.httpRps = await httpRps(port);
  await must(e.cli(['run', '-d', '--name', 'btcp', '-p', `127.0.0.1:${port + 1}:5001`, 'busybox', 'sh', '-c', 'printf "#!/bin/sh\\nexec cat > /dev/null\\n" > /sink && chmod +x /sink && exec nc -ll -p 5001 -e /sink']));
  await sleep(1000);
  await tcpMBsRetry(port + 1); // warm
  r.tcpMBs = await tcpMBsRetry(port + 1);
  await must(e.cli(['network', 'create', '--subnet', '10.241.0.0/24', 'bnet']));
  await must(e.cli(['run', '-d', '--name', 'bpeer', '--network', 'bnet', 'busybox', 'sleep', '1000']));
  await must(e.cli(['run', '-d', '--name', 'bping', '--network', 'bnet', 'busybox', 'sleep', '1000']));
  const ping = await must(e.cli(['exec', 'bping', 'ping', '-c', '20', '-i', '0.2', 'bpeer']));
  r.c2cMs = Number(/= [\d.]+\/([\d.]+)\//.exec(ping)?.[1] ?? NaN);
  await must(e.cli(['rm', '-f', 'bhttp', 'btcp', 'bpeer', 'bping']));
  await must(e.cli(['network', 'rm', 'bnet']));
  // 50 networks through the API, as a client of either engine would do it
  const ids: string[] = [];
  const t0 = Date.now();
  for (let i = 0; i < 50; i++) {
    const body = JSON.stringify({ Name: `bn${i}`, Driver: 'bridge', IPAM: { Config: [{ Subnet: `10.242.${i}.0/24` }] } });
    const res = await api(e.socket, 'POST', '/v1.41/networks/create', body);
    if (res.status !== 201) throw new Error(`${e.name} network create: ${res.body}`);
    ids.push((JSON.parse(res.body) as { Id: string }).Id);
  }
  r.create50Ms = Date.now() - t0;
  const t1 = Date.now();
  for (const id of ids) {
    const res = await api(e.socket, 'DELETE', `/v1.41/networks/${id}`);
    if (res.status !== 204) throw new Error(`${e.name} network rm: ${res.body}`);
  }
  r.remove50Ms = Date.now() - t1;
  return r;
}

/** A real dockerd with its normal networking, on private roots; cleanup undoes what it did to the host. */
async function startDockerd(): Promise<Engine> {
  const dir = tempDir('berth-bench-dockerd-');
  const socket = join(dir, 'docker.sock');
  const policy = /-P FORWARD (\w+)/.exec(spawnSync('iptables', ['-w', '-S', 'FORWARD'], { encoding: 'utf8' }).stdout)?.[1] ?? 'ACCEPT';
  const proc: ChildProcess = spawn('dockerd', ['--data-root', join(dir, 'root'), '--exec-root', join(dir, 'exec'), '-H', `unix://${socket}`,
    '--pidfile', join(dir, 'dockerd.pid'), '--containerd-namespace', 'berth-bench', '--containerd-plugins-namespace', 'berth-bench-plugins'], { stdio: 'ignore' });
  for (let i = 0; i < 600; i++) {
    try { if ((await http(socket, 'GET', '/_ping')).status === 200) break; } catch { /* not yet */ }
    await sleep(100);
  }
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'cfg') };
  return {
    name: 'docker', socket,
    cli: (a) => run('docker', a, { env }),
    cleanup: async () => {
      await run('docker', ['rm', '-f', ...(await run('docker', ['ps', '-aq'], { env })).stdout.split('\n').filter(Boolean)], { env });
      await run('docker', ['network', 'prune', '-f'], { env });
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
      spawnSync('sh', ['-c', `grep ' ${dir}' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r umount -l`]);
      spawnSync('ip', ['link', 'del', 'docker0']);
      for (const [table, chains, parents] of [
        ['filter', ['DOCKER-USER', 'DOCKER-ISOLATION-STAGE-1', 'DOCKER-ISOLATION-STAGE-2', 'DOCKER'], ['FORWARD', 'INPUT', 'OUTPUT']],
        ['nat', ['DOCKER'], ['PREROUTING', 'OUTPUT', 'POSTROUTING']],
      ] as const) {
        for (const parent of parents) {
          const lines = spawnSync('iptables', ['-w', '-t', table, '-S', parent], { encoding: 'utf8' }).stdout.split('\n');
          for (const l of lines) if (/DOCKER|docker0|172\.17\./.test(l) && l.startsWith('-A ')) spawnSync('sh', ['-c', `iptables -w -t ${table} ${l.replace(/^-A /, '-D ')}`]);
        }
        for (const c of chains) { spawnSync('iptables', ['-w', '-t', table, '-F', c]); spawnSync('iptables', ['-w', '-t', table, '-X', c]); }
      }
      spawnSync('iptables', ['-w', '-P', 'FORWARD', policy]);
      spawnSync('rm', ['-rf', dir]);
    },
  };
}

async function main(): Promise<void> {
  const engines: Engine[] = [];
  const berth = new Daemon(tempDir('berth-bench-'));
  await berth.start();
  const berthCli = (a: string[]) => run(BERTH, ['-H', berth.host, ...a]);
  engines.push({
    name: 'berth', socket: berth.socket, cli: berthCli,
    cleanup: async () => {
      const ids = (await berthCli(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
      if (ids.length) await berthCli(['rm', '-f', ...ids]);
      for (const n of (await berthCli(['network', 'ls', '-q', '--filter', 'type=custom'])).stdout.split('\n').filter(Boolean)) await berthCli(['network', 'rm', n]);
      await berth.cleanup();
      dropNetworkRules(berth.dataRoot);
    },
  });
  if (spawnSync('which', ['dockerd']).status === 0) engines.push(await startDockerd());
  else console.log('# dockerd not installed: docker column skipped');

  const results: Record<string, Record<string, number>> = {};
  let port = 41000 + Math.floor(Math.random() * 1000) * 4;
  try {
    for (const e of engines) {
      await must(e.cli(['import', '--change', 'CMD ["sh"]', busyboxTar(), 'busybox:latest']));
      results[e.name] = await measure(e, port);
      port += 2;
    }
  } finally {
    for (const e of engines) await e.cleanup().catch((err) => console.error(`cleanup ${e.name}: ${err}`));
  }

  const names = engines.map((e) => e.name);
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));
  console.log(`# Berth network benchmarks — HTTP ${HTTP_SECONDS}s, TCP ${TCP_SECONDS}s through published ports on 127.0.0.1`);
  console.log(['metric', ...names, ...names.filter((n) => n !== 'berth').map((n) => `berth/${n}`)].join('\t'));
  const rows: [string, string][] = [
    ['http requests/s via published port (higher is better)', 'httpRps'],
    ['tcp throughput MB/s via published port (higher is better)', 'tcpMBs'],
    ['container-to-container ping ms, user network (lower is better)', 'c2cMs'],
    ['create 50 networks ms (lower is better)', 'create50Ms'],
    ['remove 50 networks ms (lower is better)', 'remove50Ms'],
  ];
  for (const [label, key] of rows) {
    const vals = names.map((n) => results[n]![key]!);
    const ratios = names.filter((n) => n !== 'berth').map((n) => (results[n]![key] ? (results.berth![key]! / results[n]![key]!).toFixed(2) + 'x' : 'n/a'));
    console.log([label, ...vals.map(fmt), ...ratios].join('\t'));
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
