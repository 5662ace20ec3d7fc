/**
 * Live charts of a container's CPU, memory, network and block I/O. The last
 * hour comes from berthd's history (`GET /berth/containers/{id}/history`)
 * when it answers; the live points from Docker's own stats stream
 * (`GET /containers/{id}/stats`), so the charts draw either way. Network and
 * block totals are cumulative: the charts show their rate per second.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, jsonLines } from '../api.js';
import { Chart } from '../chart.js';
import { bytes, percent } from '../format.js';
import { Empty, Notice, useStream } from '../ui.js';

const KEEP = 720;

interface Sample {
  t: number;
  cpu: number;
  mem: number;
  limit: number;
  rx: number;
  tx: number;
  rd: number;
  wr: number;
  pids: number;
}

interface Series {
  t: number[];
  cpu: number[];
  mem: number[];
  rx: number[];
  tx: number[];
  rd: number[];
  wr: number[];
  limit: number;
}

const EMPTY: Series = { t: [], cpu: [], mem: [], rx: [], tx: [], rd: [], wr: [], limit: 0 };

interface HistoryPoint {
  Time: number | string;
  CPUPercent: number;
  MemoryUsage: number;
  MemoryLimit: number;
  NetworkRx: number;
  NetworkTx: number;
  BlockRead: number;
  BlockWrite: number;
  Pids: number;
}

/** Append a sample (totals) to the series as rates against the previous sample. */
function append(s: Series, prev: Sample | undefined, x: Sample): Series {
  const dt = prev ? Math.max(0.001, x.t - prev.t) : 0;
  const rate = (a: number, b: number | undefined) => (prev && b !== undefined ? Math.max(0, (a - b) / dt) : 0);
  const keep = <T,>(a: T[], v: T) => [...a, v].slice(-KEEP);
  return {
    t: keep(s.t, x.t),
    cpu: keep(s.cpu, x.cpu),
    mem: keep(s.mem, x.mem),
    rx: keep(s.rx, rate(x.rx, prev?.rx)),
    tx: keep(s.tx, rate(x.tx, prev?.tx)),
    rd: keep(s.rd, rate(x.rd, prev?.rd)),
    wr: keep(s.wr, rate(x.wr, prev?.wr)),
    limit: x.limit,
  };
}

type Stats = {
  read: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
  pids_stats?: { current?: number };
};

/** A sample from one of Docker's stats messages, as the docker CLI computes CPU % and memory use. */
export function sampleOf(m: Stats): Sample {
  const cpu = m.cpu_stats ?? {};
  const pre = m.precpu_stats ?? {};
  const cpuDelta = (cpu.cpu_usage?.total_usage ?? 0) - (pre.cpu_usage?.total_usage ?? 0);
  const sysDelta = (cpu.system_cpu_usage ?? 0) - (pre.system_cpu_usage ?? 0);
  const cpuPct = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * (cpu.online_cpus ?? 1) * 100 : 0;
  const ms = m.memory_stats ?? {};
  const st = ms.stats ?? {};
  const cache = st.inactive_file ?? st.total_inactive_file ?? 0;
  const nets = Object.values(m.networks ?? {});
  const io = m.blkio_stats?.io_service_bytes_recursive ?? [];
  const op = (name: string) => io.filter((e) => e.op.toLowerCase() === name).reduce((n, e) => n + e.value, 0);
  return {
    t: Date.parse(m.read) / 1000 || Date.now() / 1000,
    cpu: cpuPct,
    mem: Math.max(0, (ms.usage ?? 0) - cache),
    limit: ms.limit ?? 0,
    rx: nets.reduce((n, x) => n + x.rx_bytes, 0),
    tx: nets.reduce((n, x) => n + x.tx_bytes, 0),
    rd: op('read'),
    wr: op('write'),
    pids: m.pids_stats?.current ?? 0,
  };
}

const rate = (v: number) => `${bytes(v)}/s`;

export function StatsView(p: { id: string; running: boolean }): JSX.Element {
  const [series, setSeries] = useState<Series>(EMPTY);
  const [last, setLast] = useState<Sample>();
  const [source, setSource] = useState('live');
  const error = useStream(
    async (signal) => {
      let s = EMPTY;
      let prev: Sample | undefined;
      // The last hour, when berthd keeps history (the /berth/ extension); a 404 means it does not.
      try {
        const since = Math.floor(Date.now() / 1000) - 3600;
        const h = await api<{ Interval: number; Points: HistoryPoint[] }>('GET', `/berth/containers/${p.id}/history?since=${since}`);
        for (const pt of h.Points ?? []) {
          const x: Sample = {
            t: typeof pt.Time === 'number' ? pt.Time : Date.parse(pt.Time) / 1000,
            cpu: pt.CPUPercent,
            mem: pt.MemoryUsage,
            limit: pt.MemoryLimit,
            rx: pt.NetworkRx,
            tx: pt.NetworkTx,
            rd: pt.BlockRead,
            wr: pt.BlockWrite,
            pids: pt.Pids,
          };
          s = append(s, prev, x);
          prev = x;
        }
        if (h.Points?.length) setSource(`history (${h.Points.length} point${h.Points.length === 1 ? '' : 's'}) + live`);
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 404) throw err;
      }
      setSeries(s);
      if (!p.running) return;
      await jsonLines(
        `/containers/${p.id}/stats?stream=1`,
        (m) => {
          const x = sampleOf(m as Stats);
          if (prev && x.t <= prev.t) return;
          s = append(s, prev, x);
          prev = x;
          setSeries(s);
          setLast(x);
        },
        signal,
      );
    },
    [p.id, p.running],
  );
  const data = (a: number[][]) => [series.t, ...a];
  return (
    <>
      <div class="toolbar">
        <span class="dim">
          Source: {source}
          {last ? ` · now: CPU ${percent(last.cpu)} · memory ${bytes(last.mem)}${last.limit ? ` of ${bytes(last.limit)}` : ''} · ${last.pids} processes` : ''}
        </span>
      </div>
      {error && <Notice kind="error">{error}</Notice>}
      {!p.running && !series.t.length && <Empty>The container is not running: start it to see its resource use.</Empty>}
      <div class="charts">
        <Chart title="CPU" series={[{ label: 'CPU %', color: '#1d4ed8' }]} data={data([series.cpu])} format={percent} />
        <Chart title="Memory" series={[{ label: 'used', color: '#7a5af8' }]} data={data([series.mem])} format={bytes} floor={1e6} />
        <Chart
          title="Network"
          series={[
            { label: 'received', color: '#12b76a' },
            { label: 'sent', color: '#f79009' },
          ]}
          data={data([series.rx, series.tx])}
          format={rate}
          floor={1000}
        />
        <Chart
          title="Block I/O"
          series={[
            { label: 'read', color: '#0ba5ec' },
            { label: 'written', color: '#f04438' },
          ]}
          data={data([series.rd, series.wr])}
          format={rate}
          floor={1000}
        />
      </div>
    </>
  );
}
