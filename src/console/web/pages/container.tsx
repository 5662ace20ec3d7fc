/** One container: its state and actions, with tabs for inspect, logs, stats, processes and a terminal. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { shortId } from '../format.js';
import { navigate } from '../router.js';
import { Badge, Link, Notice, PageHeader, useLoad } from '../ui.js';
import { LogsView } from './container-logs.js';
import { StatsView } from './container-stats.js';
import { TerminalView } from './container-terminal.js';
import { TopView } from './container-top.js';
import { ACTION_LABEL, actionsFor, runAction } from './containers.js';

export interface Inspect {
  Id: string;
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  State: { Status: string; Running: boolean; Paused: boolean; ExitCode: number; StartedAt: string; FinishedAt: string; Pid: number };
  Config: { Image: string; Tty: boolean; Env: string[] | null; Cmd: string[] | null };
  HostConfig: { Memory: number; NanoCpus: number; RestartPolicy: { Name: string } };
  NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
}

const TABS = ['Overview', 'Logs', 'Stats', 'Processes', 'Terminal', 'Inspect'] as const;
type Tab = (typeof TABS)[number];

export function ContainerPage(p: { params: Record<string, string> }): JSX.Element {
  const id = p.params.id!;
  const c = useLoad(() => api<Inspect>('GET', `/containers/${encodeURIComponent(id)}/json`), [id], 3000);
  const [tab, setTab] = useState<Tab>((new URLSearchParams(location.search).get('tab') as Tab) || 'Overview');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const v = c.value;
  const name = v ? v.Name.replace(/^\//, '') : id;

  const act = async (a: Parameters<typeof runAction>[1]) => {
    if ((a === 'remove' || a === 'kill') && !confirm(`${ACTION_LABEL[a]} ${name}?`)) return;
    setBusy(true);
    setError(undefined);
    try {
      await runAction(id, a);
      if (a === 'remove') return navigate('/containers');
    } catch (err) {
      setError(`${ACTION_LABEL[a]}: ${(err as Error).message}`);
    }
    setBusy(false);
    c.reload();
  };

  if (c.error && !v)
    return (
      <>
        <PageHeader title={id} sub={<Link href="/containers">← Containers</Link>} />
        <Notice kind="error">{c.error}</Notice>
      </>
    );
  const running = v?.State.Running && !v.State.Paused;
  return (
    <>
      <PageHeader
        title={
          <span class="title-row">
            {name} {v && <Badge state={v.State.Status} />}
          </span>
        }
        sub={
          <>
            <Link href="/containers">Containers</Link> / <span class="mono">{v ? shortId(v.Id) : ' '}</span> · <span class="mono">{v?.Config.Image}</span>
          </>
        }
        actions={
          v &&
          actionsFor(v.State.Status).map((a) => (
            <button type="button" key={a} class={a === 'remove' || a === 'kill' ? 'danger' : ''} disabled={busy} onClick={() => act(a)} data-action={a}>
              {ACTION_LABEL[a]}
            </button>
          ))
        }
      />
      {error && (
        <Notice kind="error" onClose={() => setError(undefined)}>
          {error}
        </Notice>
      )}
      <div class="tabs" role="tablist">
        {TABS.map((t) => (
          <button
            type="button"
            role="tab"
            key={t}
            aria-selected={tab === t}
            class={tab === t ? 'tab active' : 'tab'}
            onClick={() => {
              setTab(t);
              history.replaceState(null, '', `${location.pathname}?tab=${t}`);
            }}
          >
            {t}
          </button>
        ))}
      </div>
      {v && tab === 'Overview' && <Summary c={v} />}
      {v && tab === 'Logs' && <LogsView id={v.Id} tty={v.Config.Tty} />}
      {v && tab === 'Stats' && <StatsView id={v.Id} running={!!v.State.Running} />}
      {v && tab === 'Processes' && <TopView id={v.Id} running={!!running} />}
      {v && tab === 'Terminal' && <TerminalView id={v.Id} running={!!running} />}
      {v && tab === 'Inspect' && <pre class="card json">{JSON.stringify(v, null, 2)}</pre>}
    </>
  );
}

function Summary(p: { c: Inspect }): JSX.Element {
  const c = p.c;
  const rows: [string, JSX.Element | string][] = [
    ['ID', <span class="mono">{c.Id}</span>],
    ['Image', <span class="mono">{c.Config.Image}</span>],
    ['Command', <span class="mono">{[c.Path, ...c.Args].join(' ')}</span>],
    ['Created', new Date(c.Created).toLocaleString()],
    [
      'Status',
      c.State.Running
        ? `running since ${new Date(c.State.StartedAt).toLocaleString()} (pid ${c.State.Pid})`
        : `${c.State.Status}, exit code ${c.State.ExitCode}`,
    ],
    ['Restart policy', c.HostConfig.RestartPolicy?.Name || 'no'],
    ['Memory limit', c.HostConfig.Memory ? `${(c.HostConfig.Memory / 1024 / 1024).toFixed(0)} MiB` : 'none'],
    ['CPUs', c.HostConfig.NanoCpus ? String(c.HostConfig.NanoCpus / 1e9) : 'no limit'],
    [
      'Networks',
      Object.entries(c.NetworkSettings.Networks ?? {})
        .map(([n, e]) => `${n}${e.IPAddress ? ` (${e.IPAddress})` : ''}`)
        .join(', ') || 'none',
    ],
    ['Environment', <span class="mono small">{(c.Config.Env ?? []).join('\n')}</span>],
  ];
  return (
    <div class="card">
      <dl class="facts">
        {rows.map(([k, v]) => (
          <>
            <dt key={`${k}-k`}>{k}</dt>
            <dd key={`${k}-v`}>{v}</dd>
          </>
        ))}
      </dl>
    </div>
  );
}
