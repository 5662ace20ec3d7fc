/**
 * One blob download into the content store, shared by every pull that needs
 * it at the same time. Bytes land in a resumable ingest file; a dropped
 * connection or a 5xx is retried with backoff and continues from the bytes
 * already there (HTTP Range). Readers can follow the file while it grows, so
 * a layer unpacks while it downloads; nothing is published until its size
 * and digest check out.
 *
 * Pulls join a download (join) with their own signal; once every one of them
 * has gone (their clients disconnected), an unfinished download stops. What
 * it wrote stays in its resumable ingest file for the next pull to continue.
 */
import { EventEmitter } from 'node:events';
import type { Digest } from '../../core/digest.js';
import { messageOf } from '../../core/errors.js';
import { log } from '../../core/log.js';
import type { ContentStore, BlobInfo } from '../../content/store.js';
import type { RepositoryClient } from '../../distribution/client.js';
import type { BlobFile } from '../../archive/blob-apply.js';
import { isTransient, TransportError } from '../../distribution/errors.js';
import { CancelledError, SharedWork, sleep } from './cancel.js';

export const MAX_ATTEMPTS = 5;
/** Bytes gathered from the socket before one write: fewer, larger writes to the ingest file. */
const WRITE_BATCH = 1 << 20;

export function backoffMs(attempt: number): number {
  return Math.min(10_000, 250 * 2 ** attempt) + Math.floor(Math.random() * 100);
}

export class Download extends EventEmitter {
  /** Bytes in the ingest file (or the whole blob once done). */
  written = 0;
  finished = false;
  error?: Error;
  readonly done: Promise<BlobInfo>;
  ingestPath = '';
  private readonly work = new SharedWork();

  /**
   * `after`: a cancelled download of the same blob still closing its ingest
   * file (one writer per resumable ingest at a time).
   */
  constructor(
    readonly content: ContentStore,
    readonly digest: Digest,
    readonly size: number,
    client: RepositoryClient,
    after?: Promise<unknown>,
  ) {
    super();
    this.setMaxListeners(0);
    this.done = this.run(client, after);
    this.done.catch(() => {}); // callers observe it; a failure must not be unhandled
    const settle = () => this.work.settle();
    this.done.then(settle, settle);
  }

  /** A pull that waits for this download until `signal` aborts. */
  join(signal: AbortSignal): void {
    this.work.join(signal);
  }

  /** Stopped because nobody waits for it any more. */
  get cancelled(): boolean {
    return this.work.stop.aborted;
  }

  private async run(client: RepositoryClient, after?: Promise<unknown>): Promise<BlobInfo> {
    try {
      return await this.transfer(client, after);
    } catch (err) {
      this.error = err as Error;
      this.emit('failed', err);
      throw err;
    }
  }

  private async transfer(client: RepositoryClient, after?: Promise<unknown>): Promise<BlobInfo> {
    const stop = this.work.stop;
    await after?.catch(() => {});
    if (stop.aborted) throw new CancelledError('download');
    const ingest = await this.content.resumable(this.digest);
    this.ingestPath = ingest.path;
    this.emit('progress');
    try {
      if (ingest.offset > this.size) await ingest.reset();
      this.written = ingest.offset;
      if (ingest.offset > 0) log.info('resuming download', { digest: this.digest, from: ingest.offset });
      for (let attempt = 0; ingest.offset < this.size; attempt++) {
        try {
          if (stop.aborted) throw new CancelledError('download');
          const { body, start } = await client.fetchBlob(this.digest, ingest.offset, stop);
          let skip = ingest.offset - start; // the server ignored our Range: drop what we already have
          let batch: Buffer[] = [];
          let batched = 0;
          const flush = async () => {
            if (batched === 0) return;
            const c = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batched);
            batch = [];
            batched = 0;
            await ingest.append(c);
            this.written = ingest.offset;
            this.emit('progress');
          };
          try {
            for await (const chunk of body as AsyncIterable<Buffer>) {
              let c = chunk;
              if (skip > 0) {
                if (c.length <= skip) {
                  skip -= c.length;
                  continue;
                }
                c = c.subarray(skip);
                skip = 0;
              }
              if (ingest.offset + batched + c.length > this.size)
                throw new TransportError(`blob ${this.digest} is larger than the ${this.size} bytes its descriptor says`, 'ETOOBIG');
              batch.push(c);
              batched += c.length;
              if (batched >= WRITE_BATCH) await flush();
            }
          } finally {
            await flush(); // what arrived before a dropped connection is kept, to resume from
          }
          if (ingest.offset < this.size) throw new TransportError(`unexpected EOF after ${ingest.offset} of ${this.size} bytes of ${this.digest}`, 'EOF');
        } catch (err) {
          if (stop.aborted) throw new CancelledError('download');
          const e =
            err instanceof TransportError || isTransient(err)
              ? err
              : isStreamError(err)
                ? new TransportError(messageOf(err), (err as NodeJS.ErrnoException).code)
                : err;
          if ((e as TransportError).code === 'ETOOBIG' || !isTransient(e) || attempt + 1 >= MAX_ATTEMPTS) throw e;
          log.warn('download interrupted; retrying', { digest: this.digest, have: ingest.offset, attempt: attempt + 1, error: messageOf(e) });
          this.emit('retry', attempt + 1, backoffMs(attempt));
          await sleep(backoffMs(attempt), stop);
        }
      }
      if (stop.aborted) throw new CancelledError('download');
      const info = await ingest.commit(this.size);
      this.finished = true;
      this.emit('end');
      return info;
    } catch (err) {
      // A blob that failed verification is gone; one interrupted for good (or cancelled) stays to resume next time.
      await ingest.close();
      throw err;
    }
  }

  /** The blob as a file that an unpack worker follows while the download writes it. */
  async file(): Promise<BlobFile> {
    while (!this.ingestPath && !this.finished) await this.next();
    const available = () => (this.finished ? this.size : this.written);
    return {
      name: this.digest,
      paths: [this.ingestPath, this.content.path(this.digest)].filter(Boolean),
      size: this.size,
      available,
      watch: (onChange) => {
        const progress = () => onChange(available());
        const failed = (e: Error) => onChange(this.written, e);
        this.on('progress', progress).on('end', progress).on('failed', failed);
        if (this.error) failed(this.error);
        return () => {
          this.off('progress', progress).off('end', progress).off('failed', failed);
        };
      },
      verified: this.done,
    };
  }

  /** Wait for more bytes, the end, or a failure. */
  private next(): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const done = () => {
        this.off('progress', done);
        this.off('end', done);
        this.off('failed', failed);
        resolve();
      };
      const failed = (e: Error) => {
        this.off('progress', done);
        this.off('end', done);
        this.off('failed', failed);
        reject(e);
      };
      this.once('progress', done);
      this.once('end', done);
      this.once('failed', failed);
    });
  }
}

function isStreamError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ETIMEDOUT' || code === 'EPIPE' || (err as Error)?.message === 'aborted';
}
