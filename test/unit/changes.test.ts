import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges } from '../../src/dockerfile/changes.js';

test('--change applies the config-only Dockerfile instructions', () => {
  const c = applyChanges({ Env: ['A=1'] }, [
    'CMD ["sh", "-c", "echo hi"]',
    'ENTRYPOINT /bin/init',
    'ENV A=2 B="two words"',
    'ENV C value with spaces',
    'EXPOSE 80 53/udp',
    'LABEL a=b "c d"=e',
    'VOLUME ["/data"]',
    'USER nobody',
    'WORKDIR /srv',
    'STOPSIGNAL SIGINT',
    'ONBUILD RUN true',
  ]);
  assert.deepEqual(c.Cmd, ['sh', '-c', 'echo hi']);
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c', '/bin/init']);
  assert.deepEqual(c.Env, ['A=2', 'B=two words', 'C=value with spaces']);
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.deepEqual(c.Labels, { a: 'b', 'c d': 'e' });
  assert.deepEqual(c.Volumes, { '/data': {} });
  assert.equal(c.User, 'nobody');
  assert.equal(c.WorkingDir, '/srv');
  assert.equal(c.StopSignal, 'SIGINT');
  assert.deepEqual(c.OnBuild, ['RUN true']);
});

test('instructions that change the filesystem are refused', () => {
  assert.throws(() => applyChanges({}, ['RUN echo']), /: run is not a valid change command$/);
  assert.throws(() => applyChanges({}, ['FROM busybox']), /: from is not a valid change command$/);
});
