/** A running container's processes (`GET /containers/{id}/top`), refreshed every few seconds. */
import type { JSX } from 'preact';
import { api } from '../api.js';
import { Empty, Notice, useLoad } from '../ui.js';

export function TopView(p: { id: string; running: boolean }): JSX.Element {
  const top = useLoad(
    () => (p.running ? api<{ Titles: string[]; Processes: string[][] }>('GET', `/containers/${p.id}/top`) : Promise.resolve(undefined)),
    [p.id, p.running],
    3000,
  );
  if (!p.running) return <Empty>The container is not running: it has no processes.</Empty>;
  return (
    <div class="card flush">
      {top.error && <Notice kind="error">{top.error}</Notice>}
      <table class="table">
        <thead>
          <tr>
            {(top.value?.Titles ?? ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']).map((t) => (
              <th key={t}>{t}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {(top.value?.Processes ?? []).map((row, i) => (
            <tr key={`${row.join(' ')}-${i}`}>
              {row.map((cell, j) => (
                <td key={`${j}-${cell}`} class={j === row.length - 1 ? 'mono' : ''}>
                  {cell}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
