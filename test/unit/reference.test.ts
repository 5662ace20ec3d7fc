import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReference, parseNormalized, formatReference, familiarString, familiarName } from '../../src/core/reference.js';

test('names normalise exactly as Docker does', () => {
  const cases: [string, string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['localhost:5000/team/app', 'localhost:5000/team/app:latest', 'localhost:5000/team/app:latest'],
    ['registry.example.com/a/b/c:v1', 'registry.example.com/a/b/c:v1', 'registry.example.com/a/b/c:v1'],
    ['[::1]:5000/app:1', '[::1]:5000/app:1', '[::1]:5000/app:1'],
  ];
  for (const [input, full, familiar] of cases) {
    const ref = parseNormalized(input);
    assert.equal(formatReference(ref), full, input);
    assert.equal(familiarString(ref), familiar, input);
  }
});

test('digest references keep no implicit tag', () => {
  const dgst = 'sha256:' + 'a'.repeat(64);
  const ref = parseNormalized(`localhost:5000/team/app@${dgst}`);
  assert.equal(ref.tag, undefined);
  assert.equal(formatReference(ref), `localhost:5000/team/app@${dgst}`);
  const both = parseNormalized(`busybox:1@${dgst}`);
  assert.equal(familiarString(both), `busybox:1@${dgst}`);
  assert.equal(familiarName(both), 'busybox');
});

test('bad references are refused in Docker’s words', () => {
  assert.throws(() => parseReference('Busybox'), /: invalid reference format: repository name must be lowercase$/);
  assert.throws(() => parseReference('a'.repeat(64)), /cannot specify 64-byte hexadecimal strings/);
  for (const bad of ['', 'busybox:', 'bus box', 'busybox@sha256:abc', ':tag', 'a//b', 'busybox:-x', '-a/b']) {
    assert.throws(() => parseReference(bad), /invalid reference format/, bad);
  }
  assert.throws(() => parseReference('x/' + 'a'.repeat(260)), /must not be more than 255 characters/);
});

test('uppercase first component is a registry host, as in Docker', () => {
  const ref = parseReference('Registry.Example/app');
  assert.equal(ref.domain, 'Registry.Example');
  assert.equal(ref.path, 'app');
});
