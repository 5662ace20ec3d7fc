/** System endpoints: ping, version, info. */
import { scenario } from '../harness.js';

scenario({
  endpoints: ['GET /_ping', 'HEAD /_ping'],
  name: 'ping answers OK with the API version headers',
  async run(s, rec) {
    const g = await s.api('GET', '/_ping', { version: null });
    rec.answer('GET', g, { exact: true });
    rec.exact('headers', { apiVersion: typeof g.headers['api-version'], cache: g.headers['cache-control'], pragma: g.headers['pragma'] });
    rec.answer('HEAD', await s.api('HEAD', '/_ping', { version: null }), { exact: true });
  },
});

scenario({
  endpoints: ['GET /version'],
  name: 'version has dockerd\'s keys',
  async run(s, rec) {
    rec.answer('version', await s.api('GET', '/version'));
  },
  allow: [{ at: /^version\.body\.Components/, why: 'Berth names its own components (berthd, runc, conmon) where dockerd names containerd, runc, docker-init' }],
});

scenario({
  endpoints: ['GET /info'],
  name: 'info has dockerd\'s keys',
  async run(s, rec) {
    rec.answer('info', await s.api('GET', '/info'));
  },
});
