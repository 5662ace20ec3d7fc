/**
 * A real S3 API server for tests and the bench: s3rver (npm, a
 * devDependency) on a loopback port the OS picks, its objects in a temporary
 * directory, with one bucket made. It speaks the S3 REST API the AWS SDK uses
 * (signed requests, multipart uploads, ranged GETs, copies, ListObjectsV2),
 * and runs without Docker, Java or Python, so CI has it wherever npm ci ran.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** The credentials s3rver accepts; tests export them so the SDK's default chain finds them. */
export const S3_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

export class S3Server {
  endpoint = '';
  port = 0;
  private proc?: ChildProcess;

  constructor(
    readonly dir: string,
    readonly buckets: string[] = ['registry'],
  ) {}

  /** Start (on `port`, or one the OS picks; a restart keeps the port and the data). */
  async start(port = this.port): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const main = join(import.meta.dirname, 's3-server-main.js');
    const proc = spawn(process.execPath, ['--openssl-legacy-provider', main, this.dir, ...this.buckets], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, S3RVER_PORT: String(port) },
    });
    this.proc = proc;
    const got = await new Promise<number>((resolve, reject) => {
      let out = '';
      proc.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /listening (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      proc.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
    });
    this.port = got;
    this.endpoint = `http://127.0.0.1:${got}`;
  }

  /** Stop the server (SIGKILL: tests use it to make the endpoint unreachable at once). */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const done = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await done;
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

/** The storage drivers every parametrized registry suite runs on. */
export const DRIVERS = ['filesystem', 's3'] as const;
export type Driver = (typeof DRIVERS)[number];

/**
 * One registry's storage for a parametrized suite: nothing for the filesystem
 * driver (the registry's --root holds it), an s3rver bucket for S3.
 */
export class StorageFixture {
  readonly s3?: S3Server;

  constructor(
    readonly driver: Driver,
    readonly dir: string,
  ) {
    if (driver === 's3') this.s3 = new S3Server(join(dir, 's3'));
  }

  async start(): Promise<void> {
    if (this.s3) {
      useS3Credentials();
      await this.s3.start();
    }
  }

  async stop(): Promise<void> {
    await this.s3?.stop();
  }

  /** Flags of `berth registry serve` for this storage. */
  flags(prefix = ''): string[] {
    return this.s3 ? this.s3.flags('registry', prefix) : [];
  }

  /** Whether the blob's bytes are stored (for a registry whose --root is `root`). */
  blobStored(root: string, digest: string, prefix = ''): boolean {
    const [alg, hex] = digest.split(':');
    if (!this.s3) return existsSync(join(root, 'blobs', alg!, hex!));
    return existsSync(join(this.s3.dir, 'registry', `${prefix}blobs/${alg}/${hex}._S3rver_object`));
  }
}
