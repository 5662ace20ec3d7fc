/**
 * The differential suite: every scenario in scenarios/ runs against a real
 * dockerd and against berthd, and what a client sees must match (see
 * harness.ts). Ends with the coverage check over the whole Engine API
 * (endpoints.json) and the summary line:
 *
 *     differential: N endpoints, N identical, N differ (listed)
 *
 * Run on its own:  node --test dist/test/differential/
 * A subset:        BERTH_DIFF_ONLY='exec|attach' node --test dist/test/differential/
 * (matches a scenario's name or endpoints; the coverage check is then skipped).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startDaemon, importBusybox, busyboxTar, tempDir, RealDockerd, type Daemon } from '../helpers.js';
import { scenarios, endpointList, compare, judge, apiCall, rawCall, Recorder, type Side, type Difference, type Scenario } from './harness.js';

const HERE = dirname(fileURLToPath(import.meta.url));
for (const f of readdirSync(join(HERE, 'scenarios'))
  .filter((x) => x.endsWith('.js'))
  .sort()) {
  await import(pathToFileURL(join(HERE, 'scenarios', f)).href);
}

const ONLY = process.env.BERTH_DIFF_ONLY ? new RegExp(process.env.BERTH_DIFF_ONLY) : undefined;
const chosen = scenarios().filter((s) => !ONLY || ONLY.test(s.name) || s.endpoints.some((e) => ONLY.test(e)));

let berth: Daemon;
let dockerd: RealDockerd;
let sides: { dockerd: Side; berthd: Side };

function sideOf(name: 'dockerd' | 'berthd', socket: string, dir: string, docker: Side['docker']): Side {
  return {
    name,
    socket,
    dir,
    docker,
    api: (method, path, opts) => apiCall(socket, method, path, opts),
    raw: (data, opts) => rawCall(socket, data, opts),
  };
}

before(async () => {
  berth = await startDaemon();
  dockerd = new RealDockerd(tempDir('berth-diff-dockerd-'));
  await dockerd.start();
  sides = {
    dockerd: sideOf('dockerd', dockerd.socket, dockerd.dir, (a, o) => dockerd.docker(a, o)),
    berthd: sideOf('berthd', berth.socket, berth.dir, (a, o) => berth.docker(a, o)),
  };
  await importBusybox(berth, 'busybox:latest');
  const r = await dockerd.docker(['import', '--change', 'CMD ["sh"]', busyboxTar(), 'busybox:latest']);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  if (dockerd) {
    await removeContainers(sides.dockerd);
    await dockerd.docker(['network', 'prune', '-f']);
    await dockerd.cleanup();
  }
  await berth?.cleanup();
});

/** Each scenario starts without containers; images, volumes and networks are the scenario's to tidy. */
async function removeContainers(s: Side): Promise<void> {
  const list = await s.api('GET', '/containers/json?all=1');
  const ids = Array.isArray(list.json) ? (list.json as Array<{ Id: string }>).map((c) => c.Id) : [];
  await Promise.all(ids.map((id) => s.api('DELETE', `/containers/${id}?force=1&v=1`)));
}

interface Outcome {
  scenario: Scenario;
  endpoints: string[];
  allowed: Difference[];
  unexplained: Difference[];
  berthdOnly: boolean;
}
const outcomes: Outcome[] = [];

for (const sc of chosen) {
  test(`${sc.endpoints.join(', ')}: ${sc.name}`, async () => {
    if (sc.berthdOnly) {
      const rec = new Recorder(sides.berthd);
      try {
        await sc.run(sides.berthd, rec);
      } finally {
        await removeContainers(sides.berthd);
      }
      outcomes.push({ scenario: sc, endpoints: [...new Set([...sc.endpoints, ...rec.touched])], allowed: [], unexplained: [], berthdOnly: true });
      return;
    }
    const rd = new Recorder(sides.dockerd);
    const rb = new Recorder(sides.berthd);
    try {
      await Promise.all([sc.run(sides.dockerd, rd), sc.run(sides.berthd, rb)]);
    } finally {
      await Promise.all([removeContainers(sides.dockerd), removeContainers(sides.berthd)]);
    }
    const { allowed, unexplained } = judge(compare(rd, rb), sc.allow);
    outcomes.push({ scenario: sc, endpoints: [...new Set([...sc.endpoints, ...rd.touched])], allowed, unexplained, berthdOnly: false });
    assert.equal(
      unexplained.length,
      0,
      `berthd differs from dockerd:\n${unexplained.map((d) => `  ${d.at}\n    dockerd: ${JSON.stringify(d.dockerd)}\n    berthd:  ${JSON.stringify(d.berthd)}`).join('\n')}`,
    );
  });
}

test('every Engine API endpoint is marked and has a scenario; summary', () => {
  const list = endpointList();
  const unmarked = list.filter((e) => e.mark === 'unmarked').map((e) => `${e.method} ${e.path}`);
  const per = new Map<string, Outcome[]>();
  for (const o of outcomes) for (const e of o.endpoints) per.set(e, [...(per.get(e) ?? []), o]);
  const covered = list.filter((e) => per.has(`${e.method} ${e.path}`));
  const differ = covered.filter((e) => per.get(`${e.method} ${e.path}`)!.some((o) => o.allowed.length || o.unexplained.length));
  const lines = [
    `differential: ${covered.length} endpoints, ${covered.length - differ.length} identical, ${differ.length} differ${differ.length ? ' (listed)' : ''}`,
  ];
  for (const e of differ) {
    const key = `${e.method} ${e.path}`;
    const whys = new Set(per.get(key)!.flatMap((o) => [...o.allowed.map((d) => d.why!), ...(o.unexplained.length ? ['UNEXPLAINED'] : [])]));
    lines.push(`  ${key}: ${[...whys].join('; ')}`);
  }
  const only = outcomes.filter((o) => o.berthdOnly);
  if (only.length) lines.push(`  berthd only (API versions dockerd 20.10 does not speak): ${only.map((o) => o.scenario.name).join('; ')}`);
  console.log(lines.join('\n'));
  assert.deepEqual(unmarked, [], 'endpoints without a mark in endpoints.json');
  if (ONLY) return;
  const missing = list.filter((e) => !per.has(`${e.method} ${e.path}`)).map((e) => `${e.method} ${e.path}`);
  assert.deepEqual(missing, [], 'endpoints without a scenario');
});
