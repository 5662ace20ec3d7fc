/**
 * A shell in the container, in the browser: xterm.js over the console's
 * exec WebSocket (`/console/ws/exec`, the session's CSRF token in the URL).
 * Keystrokes go as binary frames; the terminal's size follows the card
 * (fit addon) and each change is sent as a resize message.
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { session } from '../api.js';
import { Empty } from '../ui.js';

export function TerminalView(p: { id: string; running: boolean }): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState('connecting…');
  const [round, setRound] = useState(0);
  useEffect(() => {
    if (!p.running) return;
    const term = new Terminal({
      cursorBlink: true,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, monospace',
      fontSize: 13,
      theme: { background: '#0c111d', foreground: '#e4e7ec', cursor: '#84adff' },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(box.current!);
    fit.fit();
    const q = new URLSearchParams({ container: p.id, csrf: session().csrf, cols: String(term.cols), rows: String(term.rows) });
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/console/ws/exec?${q}`);
    ws.binaryType = 'arraybuffer';
    const enc = new TextEncoder();
    ws.onopen = () => {
      setStatus('connected');
      term.focus();
    };
    ws.onmessage = (e) => term.write(typeof e.data === 'string' ? e.data : new Uint8Array(e.data as ArrayBuffer));
    ws.onclose = (e) => setStatus(`closed${e.reason ? `: ${e.reason}` : ''}`);
    const input = term.onData((d) => ws.readyState === ws.OPEN && ws.send(enc.encode(d)));
    const resized = term.onResize(({ cols, rows }) => ws.readyState === ws.OPEN && ws.send(JSON.stringify({ type: 'resize', cols, rows })));
    const ro = new ResizeObserver(() => fit.fit());
    ro.observe(box.current!);
    return () => {
      ro.disconnect();
      input.dispose();
      resized.dispose();
      ws.close();
      term.dispose();
    };
  }, [p.id, p.running, round]);
  if (!p.running) return <Empty>The container is not running: start it to open a terminal.</Empty>;
  return (
    <>
      <div class="toolbar">
        <span class="dim" data-testid="terminal-status">
          /bin/sh · {status}
        </span>
        {status.startsWith('closed') && (
          <button
            type="button"
            class="small"
            onClick={() => {
              setStatus('connecting…');
              setRound(round + 1);
            }}
          >
            Reconnect
          </button>
        )}
      </div>
      <div class="terminal" ref={box} />
    </>
  );
}
