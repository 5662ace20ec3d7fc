/**
 * A container's logs: the last 1000 lines, then new ones as they come while
 * "Follow" is on (`GET /containers/{id}/logs?follow=1`, through the proxy; a
 * page that closes ends the stream). A container without a TTY sends Docker's
 * multiplexed stream (8-byte frame headers), split here; the search box keeps
 * the lines that contain its text.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { raw } from '../api.js';
import { Notice, useStream } from '../ui.js';

const KEEP = 5000;

interface Line {
  n: number;
  text: string;
  err: boolean;
}

/** Frames of Docker's stdcopy stream: [stream, 0, 0, 0, size(4, big-endian)] then size bytes. */
class Demux {
  private buf = new Uint8Array(0);
  push(chunk: Uint8Array, out: (stream: number, data: Uint8Array) => void): void {
    const b = new Uint8Array(this.buf.length + chunk.length);
    b.set(this.buf);
    b.set(chunk, this.buf.length);
    let off = 0;
    while (b.length - off >= 8) {
      const size = ((b[off + 4]! << 24) | (b[off + 5]! << 16) | (b[off + 6]! << 8) | b[off + 7]!) >>> 0;
      if (b.length - off - 8 < size) break;
      out(b[off]!, b.subarray(off + 8, off + 8 + size));
      off += 8 + size;
    }
    this.buf = b.slice(off);
  }
}

export function LogsView(p: { id: string; tty: boolean }): JSX.Element {
  const [lines, setLines] = useState<Line[]>([]);
  const [follow, setFollow] = useState(true);
  const [search, setSearch] = useState('');
  const box = useRef<HTMLPreElement>(null);
  const error = useStream(
    async (signal) => {
      setLines([]);
      const res = await raw('GET', `/containers/${p.id}/logs?stdout=1&stderr=1&tail=1000${follow ? '&follow=1' : ''}`, undefined, signal);
      const reader = res.body!.getReader();
      const dec = [new TextDecoder(), new TextDecoder(), new TextDecoder()];
      const partial = ['', '', ''];
      let n = 0;
      const demux = new Demux();
      const take = (stream: number, data: Uint8Array) => {
        const s = stream === 2 ? 2 : 1;
        const text = partial[s] + dec[s]!.decode(data, { stream: true });
        const parts = text.split('\n');
        partial[s] = parts.pop() ?? '';
        if (parts.length) setLines((old) => [...old, ...parts.map((t) => ({ n: n++, text: t.replace(/\r$/, ''), err: s === 2 }))].slice(-KEEP));
      };
      try {
        while (!signal.aborted) {
          const { value, done } = await reader.read();
          if (done) break;
          if (p.tty) take(1, value);
          else demux.push(value, take);
        }
        for (const s of [1, 2]) if (partial[s]) setLines((old) => [...old, { n: n++, text: partial[s]!, err: s === 2 }]);
      } finally {
        reader.cancel().catch(() => {});
      }
    },
    [p.id, follow],
  );
  // Stay at the bottom while following, unless the reader scrolled up.
  useEffect(() => {
    const el = box.current;
    if (el && follow && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [lines, follow]);
  const q = search.toLowerCase();
  const shown = q ? lines.filter((l) => l.text.toLowerCase().includes(q)) : lines;
  return (
    <>
      <div class="toolbar">
        <input type="search" placeholder="Search the logs" value={search} onInput={(e) => setSearch(e.currentTarget.value)} aria-label="Search the logs" />
        <label class="check inline">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} name="follow" /> Follow
        </label>
        <span class="dim counter">{q ? `${shown.length} of ${lines.length} lines` : `${lines.length} lines`}</span>
      </div>
      {error && <Notice kind="error">{error}</Notice>}
      <pre class="logs" ref={box} data-testid="logs">
        {shown.map((l) => (
          <div key={l.n} class={l.err ? 'err' : undefined}>
            {q ? highlight(l.text, q) : l.text || ' '}
          </div>
        ))}
        {!lines.length && <div class="dim">No output yet.</div>}
      </pre>
    </>
  );
}

function highlight(text: string, q: string): (string | JSX.Element)[] {
  const out: (string | JSX.Element)[] = [];
  const low = text.toLowerCase();
  let at = 0;
  for (let i = low.indexOf(q); i >= 0; i = low.indexOf(q, i + q.length)) {
    out.push(text.slice(at, i), <mark key={i}>{text.slice(i, i + q.length)}</mark>);
    at = i + q.length;
  }
  out.push(text.slice(at));
  return out;
}
