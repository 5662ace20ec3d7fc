/**
 * A real S3 API server for tests and the bench: s3rver (npm, a
 * devDependency) on a loopback port the OS picks, its objects in a temporary
 * directory, with one bucket made. It speaks the S3 REST API the AWS SDK uses
 * (signed requests, multipart uploads, ranged GETs, copies, ListObjectsV2),
 * and runs without Docker, Java or Python, so CI has it wherever npm ci ran.
 */
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

/** The credentials s3rver accepts; tests export them so the SDK's default chain finds them. */
export const S3_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

export class S3Server {
  endpoint = '';
  port = 0;
  private server?: { close(): Promise<void> };

  constructor(
    readonly dir: string,
    readonly buckets: string[] = ['registry'],
  ) {}

  async start(port = 0): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const S3rver = require('s3rver');
    const s = new S3rver({
      port,
      address: '127.0.0.1',
      silent: true,
      directory: join(this.dir),
      configureBuckets: this.buckets.map((name) => ({ name })),
    });
    const addr: { port: number } = await s.run();
    this.server = s;
    this.port = addr.port;
    this.endpoint = `http://127.0.0.1:${addr.port}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await s?.close();
  }

  /** `berth registry serve` flags for this server's bucket (path-style: a loopback IP has no bucket subdomains). */
  flags(bucket = this.buckets[0]!, prefix = ''): string[] {
    return ['--storage', 's3', '--s3-endpoint', this.endpoint, '--s3-bucket', bucket, '--s3-path-style', ...(prefix ? ['--s3-prefix', prefix] : [])];
  }
}

/** Put the credentials in this process's environment (children inherit them). */
export function useS3Credentials(): void {
  Object.assign(process.env, S3_ENV);
}
