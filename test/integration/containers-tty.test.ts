/**
 * Interactive terminals, driven the way a person drives them: a real terminal (tmux),
 * keys typed with send-keys, the screen read with capture-pane. Through `berth` and
 * through the real `docker` CLI against berthd.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { type Daemon, startDaemon, importBusybox, BERTH } from '../helpers.js';

let d: Daemon;
before(async () => {
  d = await startDaemon();
  await importBusybox(d);
});
after(async () => {
  tmux('kill-server');
  await d.cleanup();
});

const SOCKET = `berth-test-${process.pid}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tmux(...args: string[]): string {
  return spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' }).stdout ?? '';
}

/** A terminal window running `cmd`; when it ends the window shows "EXITED <code>" and stays open. */
class Term {
  constructor(readonly name: string) {}
  static open(name: string, argv: string[], env: Record<string, string> = {}): Term {
    const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const exports = Object.entries(env)
      .map(([k, v]) => `export ${k}='${v}'; `)
      .join('');
    const r = spawnSync('tmux', ['-L', SOCKET, 'new-session', '-d', '-s', name, '-x', '100', '-y', '30', `${exports}${quoted}; echo EXITED $?; sleep 1000`], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return new Term(name);
  }
  type(text: string): void {
    tmux('send-keys', '-t', this.name, '-l', text);
  }
  keys(...keys: string[]): void {
    tmux('send-keys', '-t', this.name, ...keys);
  }
  screen(): string {
    return tmux('capture-pane', '-p', '-t', this.name);
  }
  resize(cols: number, rows: number): void {
    tmux('resize-window', '-t', this.name, '-x', String(cols), '-y', String(rows));
  }
  /** Wait until the screen matches. */
  async waitFor(re: RegExp, what = String(re)): Promise<RegExpExecArray> {
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(100)) {
      const m = re.exec(this.screen());
      if (m) return m;
    }
    throw new Error(`timed out waiting for ${what}; the screen:\n${this.screen()}`);
  }
  /** Type a command line and wait for a marker the command prints. */
  async run(line: string, expect: RegExp): Promise<RegExpExecArray> {
    this.type(line);
    this.keys('Enter');
    return this.waitFor(expect, `${line} → ${expect}`);
  }
  close(): void {
    tmux('kill-session', '-t', this.name);
  }
}

type Cli = 'berth' | 'docker';
function argv(cli: Cli, args: string[]): { argv: string[]; env: Record<string, string> } {
  if (cli === 'berth') return { argv: [process.execPath, BERTH, '-H', d.host, ...args], env: {} };
  return { argv: ['docker', ...args], env: { DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config') } };
}
function term(name: string, cli: Cli, args: string[]): Term {
  const a = argv(cli, args);
  return Term.open(name, a.argv, a.env);
}

async function state(name: string): Promise<string> {
  return (await d.berth(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', name])).stdout.trim();
}

for (const cli of ['berth', 'docker'] as const) {
  test(`${cli} run -it: type, see output, resize, detach with ctrl-p ctrl-q, attach again, exit with the code`, async () => {
    const name = `${cli}-it`;
    const t = term(`${cli}-run`, cli, ['run', '-it', '--name', name, 'busybox', 'sh']);
    try {
      await t.waitFor(/^\/ #$/m, 'the prompt');
      await t.run('echo hello-$((6*7))', /^hello-42$/m);
      await t.run('stty size', /^30 100$/m);
      t.resize(120, 40);
      await sleep(300);
      await t.run('stty size; echo sized', /^40 120\nsized$/m);
      t.keys('C-p', 'C-q');
      await t.waitFor(/EXITED 0/, 'the client to detach');
      assert.equal(await state(name), 'running 0');
    } finally {
      t.close();
    }

    // attach, detach again (docker attach calls that an error: exit 1), attach once more, exit.
    const a = term(`${cli}-attach`, cli, ['attach', name]);
    try {
      await sleep(500);
      await a.run('echo back-$((1+1))', /^back-2$/m);
      a.keys('C-p', 'C-q');
      await a.waitFor(/read escape sequence\nEXITED 1/, 'attach to detach');
    } finally {
      a.close();
    }
    assert.equal(await state(name), 'running 0');
    const b = term(`${cli}-attach2`, cli, ['attach', name]);
    try {
      await sleep(500);
      await b.run('echo again', /^again$/m);
      await b.run('exit 5', /EXITED 5/);
    } finally {
      b.close();
    }
    assert.equal(await state(name), 'exited 5');
  });

  test(`${cli} exec -it: type, see output, resize, exit with the code; the container runs on`, async () => {
    const name = `${cli}-exec`;
    assert.equal((await d.berth(['run', '-d', '--name', name, 'busybox', 'sleep', '1000'])).code, 0);
    const t = term(`${cli}-exec`, cli, ['exec', '-it', name, 'sh']);
    try {
      await t.waitFor(/^\/ #$/m, 'the prompt');
      await t.run('echo in-$((3*3)) $$', /^in-9 (\d+)$/m);
      await t.run('tty', /^\/dev\/pts\/\d+$/m);
      t.resize(90, 20);
      await sleep(300);
      await t.run('stty size; echo sized', /^20 90\nsized$/m);
      await t.run('exit 7', /EXITED 7/);
    } finally {
      t.close();
    }
    assert.equal(await state(name), 'running 0');

    // Detach keys leave an exec session running too.
    const t2 = term(`${cli}-exec2`, cli, ['exec', '-it', name, 'sh']);
    try {
      await t2.waitFor(/^\/ #$/m, 'the prompt');
      await t2.run('sleep 300 & echo started', /^started$/m);
      t2.keys('C-p', 'C-q');
      await t2.waitFor(/read escape sequence\nEXITED 1/, 'the client to detach');
    } finally {
      t2.close();
    }
    const top = await d.berth(['top', name]);
    assert.match(top.stdout, /sleep 300/);
    await d.berth(['rm', '-f', name]);
  });
}

for (const cli of ['berth', 'docker'] as const) {
  test(`${cli} run -it: the process sees the terminal's size from its first instant`, async () => {
    const t = term(`${cli}-size`, cli, ['run', '-it', '--rm', 'busybox', 'stty', 'size']);
    try {
      const m = await t.waitFor(/EXITED (\d+)/, 'the exit');
      assert.equal(m[1], '0', t.screen());
      assert.match(t.screen(), /^30 100\s*$/m, 'stty size inside: rows and columns of the 100x30 window');
    } finally {
      t.close();
    }
  });
}

test('--detach-keys: a custom sequence detaches; a bad one is refused', async () => {
  const t = term('keys', 'berth', ['run', '-it', '--detach-keys', 'ctrl-x,x', '--name', 'keys', 'busybox', 'sh']);
  try {
    await t.waitFor(/^\/ #$/m, 'the prompt');
    t.keys('C-p', 'C-q'); // not the sequence now: reaches the shell
    await t.run('echo still-here', /^still-here$/m);
    t.keys('C-x', 'x');
    await t.waitFor(/EXITED 0/, 'the client to detach');
  } finally {
    t.close();
  }
  assert.equal(await state('keys'), 'running 0');
  const bad = await d.berth(['attach', '--detach-keys', 'ctrl-1', 'keys']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /Invalid detach keys \(ctrl-1\) provided/);
  await d.berth(['rm', '-f', 'keys']);
});

for (const cli of ['berth', 'docker'] as const) {
  test(`${cli}: config.json's detachKeys detach run -it and exec -it when --detach-keys is not given`, async () => {
    const config = join(d.dir, `keys-config-${cli}`);
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, 'config.json'), JSON.stringify({ detachKeys: 'ctrl-x,y' }));
    const a = argv(cli, ['run', '-it', '--name', `cfgkeys-${cli}`, 'busybox', 'sh']);
    const t = Term.open(`cfgkeys-${cli}`, a.argv, { ...a.env, DOCKER_CONFIG: config });
    try {
      await t.waitFor(/^\/ #$/m, 'the prompt');
      t.keys('C-p', 'C-q'); // the default sequence is not the one now: it reaches the shell
      await t.run('echo still-here', /^still-here$/m);
      t.keys('C-x', 'y');
      await t.waitFor(/EXITED 0/, 'run -it to detach');
    } finally {
      t.close();
    }
    assert.equal(await state(`cfgkeys-${cli}`), 'running 0');
    const e = argv(cli, ['exec', '-it', `cfgkeys-${cli}`, 'sh']);
    const x = Term.open(`cfgkeys-exec-${cli}`, e.argv, { ...e.env, DOCKER_CONFIG: config });
    try {
      await x.waitFor(/^\/ #$/m, 'the exec prompt');
      await x.run('echo in-exec', /^in-exec$/m);
      x.keys('C-x', 'y');
      await x.waitFor(/EXITED \d+/, 'exec -it to detach');
    } finally {
      x.close();
    }
    assert.equal(await state(`cfgkeys-${cli}`), 'running 0');
    await d.berth(['rm', '-f', `cfgkeys-${cli}`]);
  });
}
