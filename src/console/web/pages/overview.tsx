/** Overview: the host (CPUs, memory, disk use from /info and /system/df), object counts, and the last hour's events, live. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, jsonLines } from '../api.js';
import { bytes } from '../format.js';
import { Empty, Link, Notice, PageHeader, useLoad, useStream } from '../ui.js';

interface Info {
  Name: string;
  ServerVersion: string;
  OperatingSystem: string;
  KernelVersion: string;
  Architecture: string;
  NCPU: number;
  MemTotal: number;
  Containers: number;
  ContainersRunning: number;
  ContainersPaused: number;
  ContainersStopped: number;
  Images: number;
  Driver: string;
  DockerRootDir: string;
}

interface Df {
  LayersSize: number;
  Images: { Size: number }[];
  Containers: { SizeRw?: number }[];
  Volumes: { UsageData?: { Size: number } }[];
  BuildCache?: { Size: number }[];
}

interface Event {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  time: number;
  timeNano?: number;
}

function Stat(p: { label: string; value: string | number; note?: string; href?: string }): JSX.Element {
  const body = (
    <>
      <div class="stat-label">{p.label}</div>
      <div class="stat-value">{p.value}</div>
      <div class="stat-note">{p.note ?? ' '}</div>
    </>
  );
  return p.href ? (
    <Link href={p.href} class="card stat">
      {body}
    </Link>
  ) : (
    <div class="card stat">{body}</div>
  );
}

function describe(e: Event): string {
  const a = e.Actor.Attributes ?? {};
  return a.name ?? a.image ?? e.Actor.ID.slice(0, 12);
}

export function OverviewPage(): JSX.Element {
  const info = useLoad(() => api<Info>('GET', '/info'), [], 5000);
  const df = useLoad(() => api<Df>('GET', '/system/df'), [], 30000);
  const [events, setEvents] = useState<Event[]>([]);
  const streamError = useStream(async (signal) => {
    const since = Math.floor(Date.now() / 1000) - 3600;
    await jsonLines(`/events?since=${since}`, (m) => setEvents((list) => [m as unknown as Event, ...list].slice(0, 50)), signal);
  }, []);
  const i = info.value;
  const d = df.value;
  const volumes = d ? d.Volumes.reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0) : 0;
  const containers = d ? d.Containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0) : 0;
  return (
    <>
      <PageHeader title="Overview" sub={i ? `${i.Name} · Berth ${i.ServerVersion} · ${i.OperatingSystem} · kernel ${i.KernelVersion}` : ' '} />
      {info.error && <Notice kind="error">{info.error}</Notice>}
      <section class="stats">
        <Stat label="CPUs" value={i ? i.NCPU : '—'} note={i?.Architecture} />
        <Stat label="Memory" value={i ? bytes(i.MemTotal) : '—'} note="installed" />
        <Stat
          label="Disk used"
          value={d ? bytes(d.LayersSize + containers + volumes) : '—'}
          note={d ? `images ${bytes(d.LayersSize)} · volumes ${bytes(volumes)}` : ' '}
        />
        <Stat label="Storage driver" value={i ? i.Driver : '—'} note={i?.DockerRootDir} />
      </section>
      <section class="stats">
        <Stat label="Containers" value={i ? i.Containers : '—'} href="/containers" note={i ? `${i.ContainersStopped} stopped` : ' '} />
        <Stat label="Running" value={i ? i.ContainersRunning : '—'} href="/containers" note={i ? `${i.ContainersPaused} paused` : ' '} />
        <Stat label="Images" value={i ? i.Images : '—'} note={d ? bytes(d.LayersSize) : ' '} />
        <Stat label="Volumes" value={d ? d.Volumes.length : '—'} note={d ? bytes(volumes) : ' '} />
      </section>
      <h2 class="section">Recent events</h2>
      <div class="card flush">
        {streamError && <Notice kind="error">Event stream: {streamError}</Notice>}
        <table class="table events">
          <thead>
            <tr>
              <th>Time</th>
              <th>Type</th>
              <th>Action</th>
              <th>Object</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e, n) => (
              <tr key={`${e.timeNano ?? e.time}-${n}`}>
                <td class="dim nowrap">{new Date(e.time * 1000).toLocaleTimeString()}</td>
                <td>{e.Type}</td>
                <td>
                  <span class="tag">{e.Action}</span>
                </td>
                <td class="mono">{e.Type === 'container' ? <Link href={`/containers/${e.Actor.ID}`}>{describe(e)}</Link> : describe(e)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {!events.length && <Empty>No events in the last hour. They appear here as they happen.</Empty>}
      </div>
    </>
  );
}
