/**
 * The registry endpoints that are not pull or push: POST /auth (good and bad
 * credentials, `docker login`), GET /images/search (no Docker Hub here: a
 * local registry that answers v1 search, one that does not, and one that is
 * not there) and GET /distribution/{name}/json (descriptor and platforms,
 * from a manifest and from an index; a missing repository or tag; a
 * registry that wants credentials).
 */
import { scenario, type Recorder, type Side } from '../harness.js';
import { registries, fix, fixCli, authHeader, AUTH_USER, AUTH_PASS, type LocalRegistries } from './registry-local.js';

const enc = encodeURIComponent;
const q = (v: unknown) => enc(JSON.stringify(v));

async function call(
  s: Side,
  r: LocalRegistries,
  rec: Recorder,
  label: string,
  method: string,
  path: string,
  opts: { body?: unknown; headers?: Record<string, string>; exact?: boolean } = {},
): Promise<void> {
  const a = fix(await s.api(method, path, { body: opts.body, headers: opts.headers }), r);
  rec.answer(label, a, { exact: opts.exact ?? true });
}

scenario({
  endpoints: ['POST /auth'],
  name: 'registry: /auth and docker login against a registry with htpasswd auth',
  async run(s, rec) {
    const r = await registries(s);
    await call(s, r, rec, 'good', 'POST', '/auth', { body: { username: AUTH_USER, password: AUTH_PASS, serveraddress: r.auth } });
    await call(s, r, rec, 'good, http URL', 'POST', '/auth', { body: { username: AUTH_USER, password: AUTH_PASS, serveraddress: `http://${r.auth}/v2/` } });
    await call(s, r, rec, 'bad password', 'POST', '/auth', { body: { username: AUTH_USER, password: 'wrong', serveraddress: r.auth } });
    await call(s, r, rec, 'unknown user', 'POST', '/auth', { body: { username: 'nobody', password: 'x', serveraddress: r.auth } });
    await call(s, r, rec, 'registry without auth', 'POST', '/auth', { body: { username: 'any', password: 'thing', serveraddress: r.plain } });
    await call(s, r, rec, 'unreachable', 'POST', '/auth', { body: { username: 'any', password: 'thing', serveraddress: '127.0.0.1:1' } });
    await call(s, r, rec, 'bad body', 'POST', '/auth', { body: Buffer.from('{nope'), headers: { 'Content-Type': 'application/json' } });
    rec.cli('docker login', fixCli(await s.docker(['login', '-u', AUTH_USER, '--password-stdin', r.auth], { input: AUTH_PASS }), r));
    rec.cli('docker login bad', fixCli(await s.docker(['login', '-u', AUTH_USER, '--password-stdin', r.auth], { input: 'wrong' }), r));
    rec.cli('docker logout', fixCli(await s.docker(['logout', r.auth]), r));
  },
});

scenario({
  endpoints: ['GET /images/search'],
  name: 'registry: search a local registry; one without search; one not there; bad arguments',
  allow: [
    {
      at: /^no term\.(status|message)$/,
      why: 'without a term dockerd 20.10 searches Docker Hub for the empty string (a network error here); berthd answers 400 "term is required" without asking anyone',
    },
  ],
  async run(s, rec) {
    const r = await registries(s);
    await call(s, r, rec, 'search', 'GET', `/images/search?term=${enc(`${r.search}/seed`)}`);
    await call(s, r, rec, 'search limit', 'GET', `/images/search?term=${enc(`${r.search}/rg`)}&limit=1`);
    await call(s, r, rec, 'search no hit', 'GET', `/images/search?term=${enc(`${r.search}/nothing-like-this`)}`);
    await call(s, r, rec, 'search filter official', 'GET', `/images/search?term=${enc(`${r.search}/seed`)}&filters=${q({ 'is-official': ['true'] })}`);
    await call(s, r, rec, 'search filter stars', 'GET', `/images/search?term=${enc(`${r.search}/seed`)}&filters=${q({ stars: ['0'] })}`);
    await call(s, r, rec, 'search bad filter', 'GET', `/images/search?term=${enc(`${r.search}/seed`)}&filters=${q({ nope: ['1'] })}`);
    await call(s, r, rec, 'search bad official', 'GET', `/images/search?term=${enc(`${r.search}/seed`)}&filters=${q({ 'is-official': ['maybe'] })}`);
    await call(s, r, rec, 'search bad stars', 'GET', `/images/search?term=${enc(`${r.search}/seed`)}&filters=${q({ stars: ['many'] })}`);
    await call(s, r, rec, 'search bad limit', 'GET', `/images/search?term=${enc(`${r.search}/seed`)}&limit=1000`);
    await call(s, r, rec, 'registry without search', 'GET', `/images/search?term=${enc(`${r.plain}/seed`)}`);
    await call(s, r, rec, 'unreachable', 'GET', `/images/search?term=${enc('127.0.0.1:1/seed')}`);
    await call(s, r, rec, 'no term', 'GET', '/images/search');
    rec.cli('docker search', fixCli(await s.docker(['search', `${r.search}/seed`]), r));
    rec.cli('docker search unreachable', fixCli(await s.docker(['search', '127.0.0.1:1/seed']), r));
  },
});

scenario({
  endpoints: ['GET /distribution/{name}/json'],
  name: 'registry: distribution inspect of a manifest and of an index; missing; with auth',
  async run(s, rec) {
    const r = await registries(s);
    await call(s, r, rec, 'manifest', 'GET', `/distribution/${r.plain}/rg/seed:1/json`);
    await call(s, r, rec, 'manifest by digest', 'GET', `/distribution/${r.plain}/rg/seed@${r.seedDigest}/json`);
    await call(s, r, rec, 'index', 'GET', `/distribution/${r.plain}/rg/multi:1/json`);
    await call(s, r, rec, 'no tag', 'GET', `/distribution/${r.plain}/rg/seed/json`);
    await call(s, r, rec, 'missing tag', 'GET', `/distribution/${r.plain}/rg/seed:nope/json`);
    await call(s, r, rec, 'missing repo', 'GET', `/distribution/${r.plain}/rg/nothing:1/json`);
    await call(s, r, rec, 'bad name', 'GET', `/distribution/${r.plain}/RG/Seed:1/json`);
    await call(s, r, rec, 'unreachable', 'GET', '/distribution/127.0.0.1:1/rg/seed:1/json');
    await call(s, r, rec, 'auth none', 'GET', `/distribution/${r.auth}/rg/seed:1/json`);
    await call(s, r, rec, 'auth wrong', 'GET', `/distribution/${r.auth}/rg/seed:1/json`, { headers: authHeader(AUTH_USER, 'wrong', r.auth) });
    await call(s, r, rec, 'auth right', 'GET', `/distribution/${r.auth}/rg/seed:1/json`, { headers: authHeader(AUTH_USER, AUTH_PASS, r.auth) });
  },
});
