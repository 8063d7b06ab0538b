/**
 * Test helpers: tar.gz archives built header by header with tar's own Header class, so a test can write any
 * entry, hostile ones included, without a shell.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Header, type HeaderData } from 'tar';

export interface TestEntry {
  path: string;
  type?: HeaderData['type'];
  /** File contents (regular files only). */
  body?: string;
  linkpath?: string;
  mode?: number;
}

export function tarGz(entries: TestEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? '');
    const type = entry.type ?? 'File';
    const header = new Header({
      path: entry.path,
      type,
      size: type === 'File' ? body.length : 0,
      mode: entry.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      ...(entry.linkpath !== undefined && { linkpath: entry.linkpath }),
    });
    const block = Buffer.alloc(512);
    if (header.encode(block, 0)) throw new Error(`test archive: ${entry.path} needs a pax header, keep paths short`);
    blocks.push(block);
    if (type === 'File' && body.length > 0) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
