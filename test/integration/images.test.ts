/** Image commands end to end through berth and the real docker CLI. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type Daemon, startDaemon, busyboxTar, importBusybox, http, makeTar } from '../helpers.js';

let d: Daemon;
let id: string;
before(async () => {
  d = await startDaemon();
  id = await importBusybox(d);
});
after(async () => {
  await d.cleanup();
});

const short = (x: string) => x.replace('sha256:', '').slice(0, 12);

test('import prints the new image ID and the image is listed', async () => {
  assert.match(id, /^sha256:[a-f0-9]{64}$/);
  const r = await d.berth(['images']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  assert.match(lines[1], new RegExp(`^busybox\\s+latest\\s+${short(id)}\\s+.*(second|seconds|minute) ago\\s+\\d+(\\.\\d+)?MB$`));
});

test('the real docker CLI lists the same images', async () => {
  const fmt = '{{.Repository}}|{{.Tag}}|{{.ID}}|{{.Size}}';
  const ours = await d.berth(['images', '--format', fmt]);
  const theirs = await d.docker(['images', '--format', fmt]);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(theirs.stdout, ours.stdout);
  // The CREATED column's width depends on the second each command runs in, so
  // compare the default table without it and the header's words.
  const table = ['images', '--format', 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}'];
  assert.equal((await d.docker(table)).stdout, (await d.berth(table)).stdout);
  const header = (s: string) => s.split('\n')[0].split(/\s{2,}/);
  assert.deepEqual(header((await d.docker(['images'])).stdout), header((await d.berth(['images'])).stdout));
});

test('import with --change and --message sets config and history', async () => {
  const r = await d.berth([
    'import',
    '-c',
    'ENV FOO=bar',
    '-c',
    'WORKDIR /srv',
    '-c',
    'LABEL team=core',
    '-m',
    'hello import',
    busyboxTar(),
    'local/changed:v1',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const [img] = JSON.parse((await d.berth(['image', 'inspect', 'local/changed:v1'])).stdout);
  assert.deepEqual(img.Config.Env, ['FOO=bar']);
  assert.equal(img.Config.WorkingDir, '/srv');
  assert.deepEqual(img.Config.Labels, { team: 'core' });
  assert.equal(img.Comment, 'hello import');
  assert.deepEqual(img.RepoTags, ['local/changed:v1']);
  const h = await d.berth(['history', '--format', '{{.Comment}}', 'local/changed:v1']);
  assert.equal(h.stdout.trim(), 'hello import');
  // Same layer as busybox: one snapshot shared.
  const [bb] = JSON.parse((await d.berth(['image', 'inspect', 'busybox'])).stdout);
  assert.deepEqual(img.RootFS.Layers, bb.RootFS.Layers);
  assert.equal(img.GraphDriver.Data?.UpperDir ?? '', bb.GraphDriver.Data?.UpperDir ?? '');
  await d.berth(['rmi', 'local/changed:v1']);
});

test('import from stdin with "-"', async () => {
  const r = await d.berth(['import', '-', 'fromstdin:1'], { input: readFileSync(busyboxTar()) });
  assert.equal(r.code, 0, r.stderr);
  const [img] = JSON.parse((await d.berth(['image', 'inspect', 'fromstdin:1'])).stdout);
  assert.equal(img.Comment, 'Imported from -');
  assert.equal((await d.berth(['rmi', 'fromstdin:1'])).code, 0);
});

test('inspect has Docker’s shape; --format templates work', async () => {
  const [img] = JSON.parse((await d.berth(['image', 'inspect', 'busybox'])).stdout);
  for (const k of ['Id', 'RepoTags', 'RepoDigests', 'Created', 'Config', 'Architecture', 'Os', 'Size', 'GraphDriver', 'RootFS', 'Metadata'])
    assert.ok(k in img, k);
  assert.equal(img.Id, id);
  assert.deepEqual(img.Config.Cmd, ['sh']);
  assert.equal((await d.berth(['inspect', '--format', '{{.Id}}', 'busybox'])).stdout, id + '\n');
  assert.equal((await d.berth(['image', 'inspect', '-f', '{{json .Config.Cmd}}', 'busybox'])).stdout, '["sh"]\n');
  assert.equal((await d.docker(['image', 'inspect', '-f', '{{.Id}} {{index .RepoTags 0}}', 'busybox'])).stdout, `${id} busybox:latest\n`);
});

test('tag, list by reference, untag and delete as Docker does', async () => {
  assert.equal((await d.berth(['tag', 'busybox', 'localhost:5000/team/app:1.0'])).code, 0);
  assert.equal((await d.docker(['tag', 'busybox', 'second:latest'])).code, 0);
  const q = await d.berth(['images', '-q']);
  assert.equal(q.stdout, short(id) + '\n');
  const refs = await d.berth(['images', '--format', '{{.Repository}}:{{.Tag}}', 'localhost:5000/team/app']);
  assert.equal(refs.stdout, 'localhost:5000/team/app:1.0\n');
  const filtered = await d.berth(['images', '--filter', 'reference=sec*', '--format', '{{.Repository}}']);
  assert.equal(filtered.stdout, 'second\n');
  // By ID with tags in several repositories: refused without -f.
  const conflict = await d.berth(['rmi', short(id)]);
  assert.equal(conflict.code, 1);
  assert.match(
    conflict.stderr,
    new RegExp(`Error response from daemon: conflict: unable to delete ${short(id)} \\(must be forced\\) - image is referenced in multiple repositories`),
  );
  // By tag with other tags left: only untags.
  const untag = await d.berth(['rmi', 'second']);
  assert.equal(untag.stdout, 'Untagged: second:latest\n');
  const untag2 = await d.docker(['rmi', 'localhost:5000/team/app:1.0']);
  assert.equal(untag2.stdout, 'Untagged: localhost:5000/team/app:1.0\n');
  assert.equal((await d.berth(['images', '-q'])).stdout, short(id) + '\n');
});

test('rmi of the last tag deletes the image, its own layer and blobs; shared layers stay', async () => {
  const own = await d.berth(['import', '-', 'victim:1'], { input: await makeTar({ 'hello.txt': 'hi\n' }) });
  const vid = own.stdout.trim();
  const shared = (await d.berth(['import', '-m', 'shares busybox layer', busyboxTar(), 'victim:2'])).stdout.trim();
  const layersBefore = JSON.parse((await http(d.socket, 'GET', '/info')).body).Layers;
  const rm = await d.berth(['rmi', 'victim:1']);
  assert.equal(rm.code, 0, rm.stderr);
  const lines = rm.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'Untagged: victim:1');
  assert.equal(lines[1], `Deleted: ${vid}`);
  assert.equal(lines.length, 3, 'its one layer is deleted too');
  assert.equal(JSON.parse((await http(d.socket, 'GET', '/info')).body).Layers, layersBefore - 1);
  const rm2 = await d.docker(['rmi', 'victim:2']);
  assert.equal(rm2.stdout, `Untagged: victim:2\nDeleted: ${shared}\n`, 'the busybox layer is shared and stays');
  assert.equal((await d.berth(['image', 'inspect', 'victim:1'])).code, 1);
  assert.match((await d.berth(['system', 'check'])).stdout, /No problems found/);
});

test('history lists the layer with its size', async () => {
  const r = await d.berth(['history', 'busybox']);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
  assert.match(lines[1], new RegExp(`^${short(id)}\\s+.* ago\\s+\\S*MB\\s+Imported from -$`));
  assert.equal((await d.docker(['history', '-q', 'busybox'])).stdout, short(id) + '\n');
});

test('unknown images and bad names are clear errors', async () => {
  const r = await d.berth(['rmi', 'nope']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'Error response from daemon: No such image: nope:latest\n');
  const i = await d.berth(['image', 'inspect', 'nope']);
  assert.equal(i.code, 1);
  assert.equal(i.stdout, '[]\n');
  assert.match(i.stderr, /No such image: nope:latest/);
  const dk = await d.docker(['image', 'inspect', 'nope']);
  assert.equal(dk.code, 1);
  assert.match(dk.stderr, /No such image: nope/);
  const bad = await d.berth(['tag', 'busybox', 'Bad/Name']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid reference format/);
  const api = await http(d.socket, 'GET', '/images/nope/json');
  assert.equal(api.status, 404);
  assert.equal(JSON.parse(api.body).message, 'No such image: nope:latest');
});

test('unknown flags and wrong argument counts follow docker', async () => {
  const r = await d.berth(['images', '--bogus']);
  assert.equal(r.code, 125);
  assert.equal(r.stderr, "unknown flag: --bogus\nSee 'berth images --help'.\n");
  const t = await d.berth(['tag', 'busybox']);
  assert.equal(t.code, 1);
  assert.match(t.stderr, /^"berth tag" requires exactly 2 arguments\./);
});

test('a corrupt tar and a path-escaping tar are refused and change nothing', async () => {
  const before = (await d.berth(['images', '-a', '--no-trunc', '-q'])).stdout;
  const garbage = Buffer.alloc(4096, 7);
  const r = await d.berth(['import', '-', 'broken:1'], { input: garbage });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error response from daemon: /);
  const esc = await d.berth(['import', '-', 'escape:1'], { input: escapingTar() });
  assert.equal(esc.code, 1);
  assert.match(esc.stderr, /escape|outside/i);
  assert.equal((await d.berth(['images', '-a', '--no-trunc', '-q'])).stdout, before);
  const check = await d.berth(['system', 'check']);
  assert.equal(check.code, 0, check.stdout);
  assert.match(check.stdout, /No problems found/);
});

test('events record import, tag, untag and delete; since/until bound them', async () => {
  const start = (Date.now() / 1000).toFixed(3);
  await d.berth(['tag', 'busybox', 'evt:1']);
  await d.berth(['rmi', 'evt:1']);
  const until = (Date.now() / 1000 + 0.5).toFixed(3);
  const r = await d.berth(['events', '--since', start, '--until', until, '--filter', 'type=image']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0], new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z image tag ${id} \\(name=evt:1\\)$`));
  assert.match(lines[1], new RegExp(`image untag ${id} \\(name=evt:1\\)$`));
  const dk = await d.docker(['events', '--since', start, '--until', until, '--filter', 'event=untag', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
  assert.equal(dk.stdout, 'untag evt:1\n');
});

test('system df and docker system df agree', async () => {
  const ours = await d.berth(['system', 'df']);
  const theirs = await d.docker(['system', 'df']);
  assert.equal(theirs.code, 0, theirs.stderr);
  const first = (s: string) =>
    s
      .split('\n')
      .slice(0, 2)
      .map((l) =>
        l
          .split(/\s{2,}/)
          .slice(0, 4)
          .join('|'),
      );
  assert.deepEqual(first(theirs.stdout), first(ours.stdout));
  assert.match(ours.stdout, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+1\s+0\s+/);
});

test('image prune removes dangling images only', async () => {
  // Make a dangling image: import untagged.
  const r = await d.berth(['import', '-m', 'dangling one', busyboxTar()]);
  const dangling = r.stdout.trim();
  const list = await d.berth(['images', '--filter', 'dangling=true', '-q', '--no-trunc']);
  assert.equal(list.stdout, dangling + '\n');
  const p = await d.berth(['image', 'prune', '-f']);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, new RegExp(`Deleted Images:\ndeleted: ${dangling}\n`));
  assert.match(p.stdout, /Total reclaimed space: /);
  assert.equal((await d.berth(['images', '-q', '--no-trunc'])).stdout, id + '\n');
});

/** A layer tar whose second entry climbs out of the root. */
function escapingTar(): Buffer {
  const block = (name: string, size: number, type = '0') => {
    const h = Buffer.alloc(512);
    h.write(name, 0);
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(size.toString(8).padStart(11, '0') + '\0', 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write(type, 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    return h;
  };
  const data = Buffer.alloc(512);
  data.write('pwned\n');
  return Buffer.concat([block('ok.txt', 6), data, block('../../../../tmp/berth-escape-test', 6), data, Buffer.alloc(1024)]);
}
