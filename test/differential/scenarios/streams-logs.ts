/**
 * Container logs: stdout/stderr framing (raw with a TTY), tail, since,
 * timestamps, follow, refusals; `docker logs` through the CLI. Object names
 * start with `sl-`.
 */
import { scenario } from '../harness.js';
import { container, execCreate, recordStream, session, waitExit } from './streams-wire.js';

const LOGS = 'GET /containers/{id}/logs';

scenario({
  endpoints: [LOGS],
  name: 'logs: framing per stream, tail, since, timestamps, one stream only',
  async run(s, rec) {
    // The pauses fix the order the two pipes reach the log in: out1 out2 err1 partial.
    const id = await container(s, 'sl-basic', { Cmd: ['sh', '-c', 'echo out1; echo out2; sleep 0.2; echo err1 >&2; sleep 0.2; printf partial'] });
    await waitExit(s, id);
    const q = (x: string) => session(s, 'GET', `/containers/${id}/logs?${x}`);
    recordStream(rec, 'both', await q('stdout=1&stderr=1'), { chunked: true });
    recordStream(rec, 'stdout', await q('stdout=1'), { chunked: true });
    recordStream(rec, 'stderr', await q('stderr=1'), { chunked: true });
    // The tail counts lines of both streams before one is picked: stdout's tail 2 is only "partial".
    recordStream(rec, 'tail 2', await q('stdout=1&tail=2'), { chunked: true });
    recordStream(rec, 'tail 0', await q('stdout=1&stderr=1&tail=0'), { chunked: true });
    recordStream(rec, 'timestamps', await q('stdout=1&timestamps=1'), { chunked: true });
    recordStream(rec, 'since the future', await q(`stdout=1&since=${Math.floor(Date.now() / 1000) + 3600}`), { chunked: true });
    recordStream(rec, 'follow a stopped container', await q('stdout=1&follow=1'), { chunked: true });
    rec.answer('no stream chosen', await s.api('GET', `/containers/${id}/logs`));
    rec.answer('bad tail', await s.api('GET', `/containers/${id}/logs?stdout=1&tail=x`));
    rec.answer('missing container', await s.api('GET', '/containers/sl-none/logs?stdout=1'));
  },
  allow: [
    {
      at: /headers\.content-type$|^bad tail\.contentType$/,
      why: 'dockerd 20.10 labels no logs stream; dockerd ≥ 23 labels it raw-stream below API 1.42 (multiplexed from 1.42 without a TTY), as Berth does',
    },
  ],
});

scenario({
  endpoints: [LOGS],
  name: 'logs of a TTY container are raw; follow sees new output until the container stops',
  async run(s, rec) {
    const tty = await container(s, 'sl-tty', { Tty: true, Cmd: ['sh', '-c', 'echo out; echo err >&2'] });
    await waitExit(s, tty);
    recordStream(rec, 'tty', await session(s, 'GET', `/containers/${tty}/logs?stdout=1&stderr=1`), { chunked: true });
    const id = await container(s, 'sl-follow', { Cmd: ['sh', '-c', 'echo a; while [ ! -f /tmp/go ]; do sleep 0.05; done; echo b'] });
    recordStream(
      rec,
      'follow',
      await session(s, 'GET', `/containers/${id}/logs?stdout=1&follow=1`, {
        async talk(io) {
          await io.until('a');
          const e = await execCreate(s, id, { Cmd: ['touch', '/tmp/go'] });
          await s.api('POST', `/exec/${e}/start`, { body: { Detach: true } });
        },
      }),
      { chunked: true },
    );
  },
  allow: [
    {
      at: /headers\.content-type$/,
      why: 'dockerd 20.10 labels no logs stream; dockerd ≥ 23 labels it raw-stream below API 1.42 (multiplexed from 1.42 without a TTY), as Berth does',
    },
  ],
});

scenario({
  endpoints: [LOGS],
  name: 'docker logs through the CLI',
  async run(s, rec) {
    // The pauses fix the order the two pipes reach the log in (out1 err1 out2), which --tail depends on.
    const id = await container(s, 'sl-cli', { Cmd: ['sh', '-c', 'echo out1; sleep 0.2; echo err1 >&2; sleep 0.2; echo out2'] });
    await waitExit(s, id);
    rec.cli('logs', await s.docker(['logs', 'sl-cli']));
    rec.cli('logs --tail 1', await s.docker(['logs', '--tail', '1', 'sl-cli']));
    rec.cli('logs -t', await s.docker(['logs', '-t', 'sl-cli']));
    rec.cli('logs -f', await s.docker(['logs', '-f', 'sl-cli']));
    rec.cli('logs missing', await s.docker(['logs', 'sl-none']));
  },
});

scenario({
  endpoints: [LOGS, 'POST /containers/{id}/attach', 'POST /exec/{id}/start'],
  name: 'API 1.42+: streams without a TTY are labelled multiplexed on an upgraded answer, raw on a plain one',
  berthdOnly: "dockerd 20.10 speaks API 1.41; the label is from moby's version-history (v1.42) and its routers",
  async run(s) {
    const assert = (ok: boolean, what: string) => {
      if (!ok) throw new Error(what);
    };
    const id = await container(s, 'sl-mux', { Cmd: ['sh', '-c', 'echo hi; sleep 1000'] });
    const v = '1.44';
    const up = await session(s, 'POST', `/containers/${id}/attach?logs=1&stdout=1`, { upgrade: true, version: v });
    assert(up.headers['content-type'] === 'application/vnd.docker.multiplexed-stream', `attach upgraded: ${up.headers['content-type']}`);
    const plain = await session(s, 'POST', `/containers/${id}/attach?logs=1&stdout=1`, { version: v });
    assert(plain.headers['content-type'] === 'application/vnd.docker.raw-stream', `attach plain: ${plain.headers['content-type']}`);
    const e = await execCreate(s, id, { AttachStdout: true, Cmd: ['echo', 'x'] });
    const ex = await session(s, 'POST', `/exec/${e}/start`, { upgrade: true, version: v, body: {} });
    assert(ex.headers['content-type'] === 'application/vnd.docker.multiplexed-stream', `exec upgraded: ${ex.headers['content-type']}`);
    const e2 = await execCreate(s, id, { AttachStdout: true, Tty: true, Cmd: ['echo', 'x'] });
    const ex2 = await session(s, 'POST', `/exec/${e2}/start`, { upgrade: true, version: v, body: { Tty: true } });
    assert(ex2.headers['content-type'] === 'application/vnd.docker.raw-stream', `exec tty: ${ex2.headers['content-type']}`);
    const logs = await s.api('GET', `/containers/${id}/logs?stdout=1`, { version: v, timeoutMs: 2000 });
    assert(logs.headers['content-type'] === 'application/vnd.docker.multiplexed-stream', `logs: ${logs.headers['content-type']}`);
  },
});
