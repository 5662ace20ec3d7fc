/**
 * Runs s3rver as its own process (test/s3-helpers.ts starts it): `node
 * --openssl-legacy-provider s3-server-main.js DIR BUCKET…` prints
 * `listening PORT` once the server is up. Its own process because s3rver
 * needs OpenSSL's legacy provider (it ciphers list continuation tokens with
 * DES) and so that a test can kill it to play an unreachable endpoint.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [dir, ...buckets] = process.argv.slice(2);
const port = Number(process.env.S3RVER_PORT ?? 0);
const S3rver = require('s3rver');
const s = new S3rver({
  port,
  address: '127.0.0.1',
  silent: !process.env.S3RVER_LOG,
  directory: dir,
  configureBuckets: buckets.map((name) => ({ name })),
});
const addr: { port: number } = await s.run();
process.stdout.write(`listening ${addr.port}\n`);
process.on('SIGTERM', () => {
  s.close().then(() => process.exit(0));
});
