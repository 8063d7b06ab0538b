import { PeriscopeError, ValidationError } from '@periscope/core';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ArchiveLimits } from './archive-entries.js';
import { inspectArchive } from './extract.js';

export interface CodeStoreOptions {
  /** Largest archive accepted, in bytes of the compressed upload (default 256 MiB). */
  maxBytes?: number;
  /** What an archive may unpack to, checked at upload (defaults: see ArchiveLimits). */
  archiveLimits?: ArchiveLimits;
}

export interface StoredArchive {
  sha256: string;
  /** Bytes of the stored (compressed) archive. */
  size: number;
}

const DEFAULT_MAX_ARCHIVE_BYTES = 256 * 1024 * 1024;
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Uploaded code archives, content-addressed: `<dataDir>/code/<sha256>.tar.gz`. A file appears under its name
 * only once its bytes hash to that name and its entries passed `inspectArchive`, so whatever is found there
 * can be trusted as far as those checks go.
 */
export class CodeStore {
  readonly root: string;
  readonly maxBytes: number;
  readonly archiveLimits: ArchiveLimits;

  constructor(dataDir: string, options: CodeStoreOptions = {}) {
    this.root = join(dataDir, 'code');
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_ARCHIVE_BYTES;
    this.archiveLimits = options.archiveLimits ?? {};
  }

  path(sha256: string): string {
    return join(this.root, `${checkDigest(sha256)}.tar.gz`);
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== undefined;
  }

  async stat(sha256: string): Promise<StoredArchive | undefined> {
    try {
      const { size } = await stat(this.path(sha256));
      return { sha256, size };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /**
   * Stores `body` under `sha256`: streamed to a temporary file while hashed, refused (and deleted) when larger
   * than `maxBytes` (413), when its digest differs (400) or when `inspectArchive` refuses it (400), then renamed
   * into place. Putting a digest that is already stored reads nothing and answers the stored archive.
   */
  async put(sha256: string, body: Readable): Promise<StoredArchive> {
    const existing = await this.stat(sha256);
    if (existing !== undefined) {
      body.on('error', () => {});
      body.resume();
      return existing;
    }
    await mkdir(this.root, { recursive: true });
    const temp = join(this.root, `.incoming-${randomUUID()}`);
    try {
      const { digest, size } = await this.receive(body, temp);
      if (digest !== sha256) {
        throw new ValidationError(`Archive digest mismatch: the URL names sha256 ${sha256} but the body hashes to ${digest}.`, 'sha256');
      }
      await inspectArchive(temp, this.archiveLimits);
      const handle = await open(temp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path(sha256));
      return { sha256, size };
    } finally {
      await rm(temp, { force: true });
    }
  }

  /** Copies `body` to `file`, hashing as it goes; stops reading (without destroying the source) past the limit. */
  private receive(body: Readable, file: string): Promise<{ digest: string; size: number }> {
    return new Promise((resolve, reject) => {
      const hash = createHash('sha256');
      const out = createWriteStream(file, { flags: 'wx' });
      let size = 0;
      let ended = false;
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        body.off('data', onData);
        // Leave the source alive (an HTTP request must still be answered) but stop buffering it.
        body.resume();
        out.destroy();
        out.once('close', () => reject(error));
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.maxBytes) {
          fail(new PeriscopeError('PAYLOAD_TOO_LARGE', `Code archive is larger than the ${this.maxBytes}-byte limit.`));
          return;
        }
        hash.update(chunk);
        if (!out.write(chunk)) body.pause();
      };
      body.on('data', onData);
      out.on('drain', () => body.resume());
      body.once('end', () => {
        ended = true;
        if (!settled) out.end();
      });
      body.once('close', () => {
        if (!ended) fail(new ValidationError('The upload ended before the whole archive was received.'));
      });
      body.on('error', (error) => fail(new ValidationError(`The upload failed: ${error.message}`)));
      out.on('error', fail);
      out.once('finish', () => {
        if (settled) return;
        settled = true;
        resolve({ digest: hash.digest('hex'), size });
      });
    });
  }
}

function checkDigest(sha256: string): string {
  if (!SHA256.test(sha256)) throw new ValidationError(`"${sha256}" is not a sha256 digest (64 lowercase hex digits).`, 'sha256');
  return sha256;
}
