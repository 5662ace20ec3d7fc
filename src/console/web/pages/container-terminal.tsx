/**
 * A shell in the container, in the browser: xterm.js over the console's
 * exec WebSocket (`/console/ws/exec`, the session's CSRF token in the URL).
 * Keystrokes go as binary frames; the terminal's size follows the card
 * (fit addon) and each change is sent as a resize message. xterm.js is most
 * of the console's code, so it is loaded only when a terminal opens.
 */
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
    let stop: (() => void) | undefined;
    let cancelled = false;
    void Promise.all([import('@xterm/xterm'), import('@xterm/addon-fit')]).then(
      ([{ Terminal }, { FitAddon }]) => {
        if (cancelled || !box.current) return;
        stop = open(Terminal, FitAddon);
      },
      (err: Error) => setStatus(`closed: cannot load the terminal: ${err.message}`),
    );
    return () => {
      cancelled = true;
      stop?.();
    };
  }, [p.id, p.running, round]);

  function open(Terminal: typeof import('@xterm/xterm').Terminal, FitAddon: typeof import('@xterm/addon-fit').FitAddon): () => void {
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
  }
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
