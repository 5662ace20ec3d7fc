/**
 * Exec streams: create, start (TTY or not, hijacked or a plain POST,
 * detached), inspect, resize, failures to start, detach keys, and `docker
 * exec` through the CLI. Object names start with `sx-`.
 */
import { scenario } from '../harness.js';
import { container, execCreate, execInspect, recordStream, session, typeKeys } from './streams-wire.js';

const SLEEPER = { Cmd: ['sleep', '1000'] };
const START = 'POST /exec/{id}/start';

scenario({
  endpoints: ['POST /containers/{id}/exec', START, 'GET /exec/{id}/json'],
  name: 'exec without a TTY: frames per stream, hijacked and plain, then inspect',
  async run(s, rec) {
    const cid = await container(s, 'sx-plain', SLEEPER);
    const cfg = { AttachStdout: true, AttachStderr: true, Cmd: ['sh', '-c', 'printf out1; printf err1 >&2; printf out2'] };
    const create = await s.api('POST', `/containers/${cid}/exec`, { body: cfg });
    rec.answer('create', create);
    const id = (create.json as { Id: string }).Id;
    recordStream(rec, 'start upgraded', await session(s, 'POST', `/exec/${id}/start`, { upgrade: true, body: { Detach: false, Tty: false } }));
    rec.answer('inspect', await s.api('GET', `/exec/${id}/json`));
    rec.exact('inspect values', await execInspect(s, id));
    const id2 = await execCreate(s, cid, cfg);
    recordStream(rec, 'start plain', await session(s, 'POST', `/exec/${id2}/start`, { body: {} }));
    recordStream(rec, 'start again', await session(s, 'POST', `/exec/${id2}/start`, { body: {} }));
    rec.answer('start again detached', await s.api('POST', `/exec/${id2}/start`, { body: { Detach: true } }));
    rec.answer('inspect unknown', await s.api('GET', '/exec/sx-nope/json'));
    rec.answer('start unknown', await s.api('POST', '/exec/sx-nope/start', { body: {} }));
  },
});

scenario({
  endpoints: [START],
  name: 'exec with a TTY streams raw bytes from the very first one',
  async run(s, rec) {
    const cid = await container(s, 'sx-tty', SLEEPER);
    for (const upgrade of [true, false]) {
      const id = await execCreate(s, cid, { AttachStdout: true, AttachStderr: true, Tty: true, Cmd: ['printf', 'abc'] });
      recordStream(rec, `printf upgrade=${upgrade}`, await session(s, 'POST', `/exec/${id}/start`, { upgrade, body: { Tty: true } }));
      rec.exact(`inspect upgrade=${upgrade}`, await execInspect(s, id));
    }
    // Input reaches the process; the terminal echoes it.
    const id = await execCreate(s, cid, {
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
      Cmd: ['sh', '-c', 'read x; echo "got $x"; exit 3'],
    });
    recordStream(
      rec,
      'stdin',
      await session(s, 'POST', `/exec/${id}/start`, {
        upgrade: true,
        body: { Tty: true },
        async talk(io) {
          await io.head;
          io.write('hi\n');
        },
      }),
    );
    rec.exact('stdin exit', await execInspect(s, id));
    // The start request's Tty decides the framing: a TTY exec started with Tty false is framed.
    const id3 = await execCreate(s, cid, { AttachStdout: true, AttachStderr: true, Tty: true, Cmd: ['printf', 'abc'] });
    recordStream(rec, 'tty exec started without Tty', await session(s, 'POST', `/exec/${id3}/start`, { upgrade: true, body: {} }));
    // stderr of a TTY process is the terminal too.
    const e2 = await execCreate(s, cid, { AttachStdout: true, AttachStderr: true, Tty: true, Cmd: ['sh', '-c', 'echo to-err >&2; echo to-out'] });
    recordStream(rec, 'stderr on the terminal', await session(s, 'POST', `/exec/${e2}/start`, { upgrade: true, body: { Tty: true } }));
  },
});

scenario({
  endpoints: [START],
  name: 'exec start with Detach answers 200 with an empty body, TTY or not',
  async run(s, rec) {
    const cid = await container(s, 'sx-detach', SLEEPER);
    for (const tty of [false, true]) {
      const id = await execCreate(s, cid, { AttachStdout: true, AttachStderr: true, Tty: tty, Cmd: ['sh', '-c', `echo ran > /tmp/detached-${tty}`] });
      rec.answer(`start tty=${tty}`, await s.api('POST', `/exec/${id}/start`, { body: { Detach: true, Tty: tty } }), { exact: true });
      // The detached process ran: a second exec waits for what it wrote.
      const check = await execCreate(s, cid, {
        AttachStdout: true,
        AttachStderr: true,
        Cmd: ['sh', '-c', `while [ ! -s /tmp/detached-${tty} ]; do sleep 0.05; done; cat /tmp/detached-${tty}`],
      });
      recordStream(rec, `its effect tty=${tty}`, await session(s, 'POST', `/exec/${check}/start`, { upgrade: true, body: {} }));
    }
    rec.cli('docker exec -d', await s.docker(['exec', '-d', 'sx-detach', 'sh', '-c', 'echo cli > /tmp/cli-detached']));
    rec.cli('its effect', await s.docker(['exec', 'sx-detach', 'sh', '-c', 'while [ ! -s /tmp/cli-detached ]; do sleep 0.05; done; cat /tmp/cli-detached']));
  },
});

scenario({
  endpoints: [START, 'GET /exec/{id}/json'],
  name: "exec of a missing or unrunnable command: the runtime's words in the stream, exit 127 or 126",
  async run(s, rec) {
    const cid = await container(s, 'sx-missing', SLEEPER);
    for (const cmd of ['sx-no-such-command', '/etc/passwd']) {
      for (const tty of [false, true]) {
        const id = await execCreate(s, cid, { AttachStdout: true, AttachStderr: true, Tty: tty, Cmd: [cmd] });
        recordStream(rec, `${cmd} tty=${tty}`, await session(s, 'POST', `/exec/${id}/start`, { upgrade: true, body: { Tty: tty } }));
        const i = (await s.api('GET', `/exec/${id}/json`)).json as { Running: boolean; ExitCode: number };
        rec.exact(`${cmd} tty=${tty} inspect`, { Running: i.Running, ExitCode: i.ExitCode });
      }
    }
    const d = await execCreate(s, cid, { Cmd: ['sx-no-such-command'] });
    rec.answer('detached start of a missing command', await s.api('POST', `/exec/${d}/start`, { body: { Detach: true } }));
    rec.exact('detached start of a missing command inspect', await execInspect(s, d));
    rec.cli('docker exec missing', await s.docker(['exec', 'sx-missing', 'sx-no-such-command']));
    rec.cli('docker exec not executable', await s.docker(['exec', 'sx-missing', '/etc/passwd']));
    rec.cli('docker exec exit status', await s.docker(['exec', 'sx-missing', 'sh', '-c', 'echo out; echo err >&2; exit 3']));
  },
  allow: [
    {
      at: /sx-no-such-command .*inspect\.ExitCode$|missing command inspect\.ExitCode$|docker exec missing\.code$/,
      why: 'dockerd 20.10 reports 126 for every exec that fails to start; dockerd ≥ 23 (setExitCodeFromError) reports 127 for a missing command, as Berth does',
    },
  ],
});

scenario({
  endpoints: ['POST /containers/{id}/exec', START],
  name: "exec on a stopped or paused container is refused in dockerd's words",
  async run(s, rec) {
    const cid = await container(s, 'sx-stopped', { Cmd: ['sleep', '1000'] });
    const early = await execCreate(s, cid, { AttachStdout: true, Cmd: ['echo', 'hi'] });
    rec.answer('pause', await s.api('POST', `/containers/${cid}/pause`));
    rec.answer('create when paused', await s.api('POST', `/containers/${cid}/exec`, { body: { AttachStdout: true, Cmd: ['echo'] } }));
    rec.answer('start when paused', await s.api('POST', `/exec/${early}/start`, { body: {} }));
    rec.answer('unpause', await s.api('POST', `/containers/${cid}/unpause`));
    rec.answer('kill', await s.api('POST', `/containers/${cid}/kill`));
    await s.api('POST', `/containers/${cid}/wait`);
    rec.answer('create when stopped', await s.api('POST', `/containers/${cid}/exec`, { body: { AttachStdout: true, Cmd: ['echo'] } }));
    rec.answer('start when stopped', await s.api('POST', `/exec/${early}/start`, { body: {} }));
    rec.answer('start detached when stopped', await s.api('POST', `/exec/${early}/start`, { body: { Detach: true } }));
    rec.answer('create without a command', await s.api('POST', '/containers/sx-stopped/exec', { body: { AttachStdout: true } }));
    rec.answer('create in a missing container', await s.api('POST', '/containers/sx-none/exec', { body: { Cmd: ['echo'] } }));
    rec.cli('docker exec', await s.docker(['exec', 'sx-stopped', 'echo', 'hi']));
  },
});

scenario({
  endpoints: ['POST /exec/{id}/resize'],
  name: 'exec resize sets the terminal size the process sees',
  async run(s, rec) {
    const cid = await container(s, 'sx-resize', SLEEPER);
    // The terminal starts without a size (stty prints none); the process waits for the one the client sets.
    const id = await execCreate(s, cid, {
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
      Cmd: ['sh', '-c', 'echo ready; until [ -n "$(stty size 2>/dev/null)" ]; do sleep 0.05; done; stty size'],
    });
    recordStream(
      rec,
      'stream',
      await session(s, 'POST', `/exec/${id}/start`, {
        upgrade: true,
        body: { Tty: true },
        async talk(io) {
          await io.until('ready');
          rec.answer('resize', await s.api('POST', `/exec/${id}/resize?h=30&w=100`));
        },
      }),
    );
    // dockerd answers 500 "cannot resize a stopped container" or 404 "no such exec", depending on how soon containerd forgot the process.
    rec.exact('resize after exit is refused', (await s.api('POST', `/exec/${id}/resize?h=30&w=100`)).status >= 400);
    rec.answer('resize unknown', await s.api('POST', '/exec/sx-nope/resize?h=30&w=100'));
    const plain = await execCreate(s, cid, { AttachStdout: true, Cmd: ['true'] });
    rec.answer('resize a created exec', await s.api('POST', `/exec/${plain}/resize?h=x&w=100`));
  },
});

scenario({
  endpoints: [START],
  name: 'exec detach keys: given at create, the sequence ends the session and the process runs on',
  async run(s, rec) {
    const cid = await container(s, 'sx-keys', SLEEPER);
    for (const [label, keys, seq] of [
      ['default', undefined, '\x10\x11'],
      ['ctrl-a,x', 'ctrl-a,x', '\x01x'],
    ] as const) {
      const id = await execCreate(s, cid, {
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: true,
        Cmd: ['sh', '-c', 'read x; echo "got $x"; sleep 1000'],
        ...(keys ? { DetachKeys: keys } : {}),
      });
      recordStream(
        rec,
        `${label} stream`,
        await session(s, 'POST', `/exec/${id}/start`, {
          upgrade: true,
          body: { Tty: true },
          async talk(io) {
            await io.head;
            io.write('hi\n');
            await io.until('got hi');
            await typeKeys(io, seq);
          },
        }),
      );
      const i = (await s.api('GET', `/exec/${id}/json`)).json as { Running: boolean; DetachKeys: unknown };
      rec.exact(`${label} after`, { Running: i.Running, DetachKeys: i.DetachKeys });
      // The process ran on: its pid is still in the container.
      const top = (await s.api('GET', `/containers/${cid}/top`)).json as { Processes: string[][] };
      rec.exact(
        `${label} still runs`,
        top.Processes.some((p) => p.join(' ').includes('read x')),
      );
    }
    rec.answer('bad keys', await s.api('POST', `/containers/${cid}/exec`, { body: { AttachStdin: true, Cmd: ['cat'], DetachKeys: 'ctrl-' } }));
  },
  allow: [
    {
      at: /^(default|ctrl-a,x) after\.Running$/,
      why: 'dockerd marks an exec it detached from as ended (Running false, ExitCode 126) while its process runs on (see "still runs"); Berth reports it running until it exits',
    },
  ],
});

scenario({
  endpoints: ['POST /containers/{id}/exec', START],
  name: 'docker exec through the CLI: output, stdin, exit status, TTY',
  async run(s, rec) {
    await container(s, 'sx-cli', SLEEPER);
    rec.cli('exec', await s.docker(['exec', 'sx-cli', 'sh', '-c', 'echo out; echo err >&2']));
    rec.cli('exec -i', await s.docker(['exec', '-i', 'sx-cli', 'sh', '-c', 'cat; echo done'], { input: 'line1\nline2\n' }));
    rec.cli('exec -t', await s.docker(['exec', '-t', 'sx-cli', 'printf', 'abc']));
    rec.cli('exec -u -w -e', await s.docker(['exec', '-u', 'nobody', '-w', '/tmp', '-e', 'SX=1', 'sx-cli', 'sh', '-c', 'id -un; pwd; echo $SX']));
    rec.cli('exec exit status', await s.docker(['exec', 'sx-cli', 'sh', '-c', 'exit 7']));
  },
});
