/**
 * The price of metrics and history, on berthd's own process:
 *
 *   scrape cost   50 running busybox containers, BENCH_SCRAPES (default 100) sequential GETs of
 *                 /metrics: berthd's CPU time per scrape from /proc/<pid>/stat utime+stime over
 *                 the whole series (the kernel counts in 10 ms ticks, so one scrape alone is
 *                 below its resolution), minus berthd's CPU over an equal idle stretch; and each
 *                 scrape's wall latency (median, p95).
 *   idle RSS      berthd with no container: plain, with metrics on, with the web console on (a
 *                 fresh daemon each, 5 s after start, no scrape or sign-in yet; the three take
 *                 turns BENCH_IDLE_RUNS times, default 3, median).
 *   history RSS   the same 50 containers, history asked for (interval shortened to fill the
 *                 720-point rings in about a minute): berthd's RSS before and once full.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon, importBusybox, tempDir, http } from '../test/helpers.js';

const CONTAINERS = Number(process.env.BENCH_CONTAINERS ?? 50);
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 100);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime + stime of a process in ms (USER_HZ = 100). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

const IDLE_RUNS = Number(process.env.BENCH_IDLE_RUNS ?? 3);

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

async function daemon(config: Record<string, unknown>): Promise<Daemon> {
  const d = new Daemon(tempDir('berth-bench-metrics-'));
  const file = join(d.dir, 'daemon.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ...config }) + '\n');
  await d.start();
  return d;
}

const metricsAddr = (d: Daemon) => /metrics API listening on (\S+?)"/.exec(d.log)![1]!;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))]!;
}

/** berthd's RSS 5 s after a start with `config` merged into its daemon.json, no container. */
async function idleRss(config: Record<string, unknown>): Promise<number> {
  const d = await daemon(config);
  try {
    await sleep(5000);
    return rssMiB(d.proc!.pid!);
  } finally {
    await d.cleanup();
  }
}

/** Median idle RSS of each configuration, the configurations taking turns `IDLE_RUNS` times. */
async function idleRssTurns(configs: Record<string, Record<string, unknown>>): Promise<Record<string, number>> {
  const got: Record<string, number[]> = {};
  for (let i = 0; i < IDLE_RUNS; i++) for (const [name, cfg] of Object.entries(configs)) (got[name] ??= []).push(await idleRss(cfg));
  return Object.fromEntries(Object.entries(got).map(([k, v]) => [k, quantile(v, 0.5)]));
}

async function main(): Promise<void> {
  const idle = await idleRssTurns({ off: {}, metrics: { 'metrics-addr': '127.0.0.1:0' }, console: { 'console-addr': '127.0.0.1:0' } });
  const rssOff = idle.off!;
  const rssOn = idle.metrics!;
  const rssConsole = idle.console!;

  const d = await daemon({ 'metrics-addr': '127.0.0.1:0', 'history-interval': 0.05 });
  try {
    await importBusybox(d);
    const pid = d.proc!.pid!;
    const ids: string[] = [];
    for (let i = 0; i < CONTAINERS; i += 5) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(5, CONTAINERS - i) }, (_v, k) => d.berth(['run', '-d', '--name', `m${i + k}`, 'busybox', 'sleep', '1000000'])),
      );
      for (const r of batch) {
        if (r.code !== 0) throw new Error(`run failed: ${r.stderr}`);
        ids.push(r.stdout.trim());
      }
    }
    const url = `http://${metricsAddr(d)}/metrics`;
    let bytes = 0;
    for (let i = 0; i < 3; i++) bytes = (await (await fetch(url)).text()).length; // warm-up
    await sleep(2000);
    // berthd's own background CPU over a stretch as long as the scrapes take (estimated by a first pass).
    const wall: number[] = [];
    const c0 = cpuMs(pid);
    const t0 = performance.now();
    for (let i = 0; i < SCRAPES; i++) {
      const s = performance.now();
      const r = await fetch(url);
      await r.text();
      if (r.status !== 200) throw new Error(`scrape ${r.status}`);
      wall.push(performance.now() - s);
    }
    const scrapeWall = performance.now() - t0;
    const scrapeCpu = cpuMs(pid) - c0;
    const i0 = cpuMs(pid);
    await sleep(scrapeWall);
    const idleCpu = cpuMs(pid) - i0;
    const series = (await (await fetch(url)).text()).split('\n').filter((l) => l.startsWith('container_')).length;

    // History: ask once for a container, then keep the watch on until every ring is full.
    const rssBefore = rssMiB(pid);
    const deadline = Date.now() + 180_000;
    let points = 0;
    while (Date.now() < deadline) {
      const r = await http(d.socket, 'GET', `/berth/containers/${ids[0]}/history`);
      points = (JSON.parse(r.body) as { Points: unknown[] }).Points.length;
      if (points >= 720) break;
      await sleep(2000);
    }
    await sleep(1000);
    const rssAfter = rssMiB(pid);

    const per = (scrapeCpu - idleCpu) / SCRAPES;
    console.log(`metrics: ${CONTAINERS} running containers, ${SCRAPES} sequential scrapes of ${(bytes / 1024).toFixed(0)} KiB (${series} container_* series)`);
    console.log(`  berthd CPU per scrape: ${per.toFixed(1)} ms (${scrapeCpu} ms over the scrapes − ${idleCpu} ms idle over as long; target < 50 ms)`);
    console.log(`  wall latency per scrape: median ${quantile(wall, 0.5).toFixed(1)} ms, p95 ${quantile(wall, 0.95).toFixed(1)} ms`);
    console.log(
      `  berthd idle RSS, no containers (median of ${IDLE_RUNS}, taking turns): metrics and console off ${rssOff.toFixed(1)} MiB, metrics on ${rssOn.toFixed(1)} MiB (+${(rssOn - rssOff).toFixed(1)}), console on ${rssConsole.toFixed(1)} MiB (+${(rssConsole - rssOff).toFixed(1)})`,
    );
    console.log(
      `  history with ${CONTAINERS} containers: RSS ${rssBefore.toFixed(1)} → ${rssAfter.toFixed(1)} MiB (+${(rssAfter - rssBefore).toFixed(1)} MiB) with ${points} points per ring (720 max)`,
    );
  } finally {
    await d.cleanup();
  }
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
