/**
 * A time-series chart (uPlot): fixed height, the card's width, redrawn when
 * the data changes or the card is resized. `data-points` on the wrapper says
 * how many points are drawn (the browser tests read it).
 */
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

/** Tick steps on the time axis, in seconds: whole seconds up to an hour (the history's span). */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

/** A tick label: the local wall-clock time, HH:MM:SS. */
function clock(seconds: number): string {
  const t = new Date(seconds * 1000);
  return [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

export interface SeriesDef {
  label: string;
  color: string;
}

export function Chart(p: {
  title: string;
  series: SeriesDef[];
  data: number[][];
  format: (v: number) => string;
  min?: number;
  max?: number;
  floor?: number;
}): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    const el = box.current!;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 190,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      // At least a minute wide, ticked in whole seconds: a chart with a few seconds of data reads as a clock, not ":18.200".
      scales: {
        x: { time: true, range: (_u, lo, hi) => [Math.min(lo, hi - 60), hi] },
        y: { range: (_u, lo, hi) => [p.min ?? Math.min(0, lo), Math.max(p.max ?? 0, hi * 1.1, p.floor ?? 1)] },
      },
      axes: [
        { stroke: '#667085', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#e4e7ec' }, incrs: TIME_STEPS, values: (_u, vals) => vals.map(clock) },
        { stroke: '#667085', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#e4e7ec' }, size: 70, values: (_u, vals) => vals.map((v) => p.format(v)) },
      ],
      series: [
        {},
        ...p.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          fill: `${s.color}1a`,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v == null ? '—' : p.format(v)),
        })),
      ],
    };
    plot.current = new uPlot(opts, p.data as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 190 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
    };
  }, []);
  useEffect(() => {
    plot.current?.setData(p.data as uPlot.AlignedData);
  }, [p.data]);
  return (
    <div class="card chart">
      <h3>{p.title}</h3>
      <div ref={box} class="chart-box" data-points={p.data[0]?.length ?? 0} data-title={p.title} />
    </div>
  );
}
