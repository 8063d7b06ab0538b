/**
 * The Determined SDK's `modelDefinition` (a list of base64 files and folders, each with its mode) as an uploaded
 * code archive: the files are written under a fresh temporary folder, confined to it, packed as tar.gz and put in
 * the content-addressed code store, exactly as `PUT /api/v1/code/{sha256}` would have stored them.
 */
import { PeriscopeError, ValidationError } from '@periscope/core';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { create as createTar } from 'tar';
import type { CodeStore } from '../code/code-store.js';

export interface ModelFile {
  path: string;
  /** 48 ('0', a regular file) or 53 ('5', a folder): tar type flags as the SDK sends them. */
  type: number;
  content: string;
  mode?: number;
}

const FILE = 48;
const FOLDER = 53;
/** The SDK refuses more than 95 MB of model definition; what decodes to more is refused here too. */
export const MAX_MODEL_BYTES = 96 * 1024 * 1024;
const MAX_ENTRIES = 50_000;

/** Stores the files as a code archive and answers its sha256; undefined for an empty definition. */
export async function storeModelDefinition(files: readonly ModelFile[], store: CodeStore): Promise<string | undefined> {
  if (files.length === 0) return undefined;
  if (files.length > MAX_ENTRIES) throw new PeriscopeError('PAYLOAD_TOO_LARGE', `modelDefinition: ${files.length} entries; at most ${MAX_ENTRIES}.`);
  const dir = await mkdtemp(join(tmpdir(), 'periscope-model-definition-'));
  try {
    const root = join(dir, 'code');
    await mkdir(root);
    let bytes = 0;
    for (const [index, file] of files.entries()) {
      const path = confined(file.path, index);
      // Permission bits only: no setuid, setgid or sticky bit comes in from a client.
      const mode = (file.mode ?? (file.type === FOLDER ? 0o755 : 0o644)) & 0o777;
      if (file.type === FOLDER) {
        await mkdir(join(root, path), { recursive: true, mode: mode | 0o700 });
      } else if (file.type === FILE) {
        const content = Buffer.from(file.content, 'base64');
        bytes += content.length;
        if (bytes > MAX_MODEL_BYTES) throw new PeriscopeError('PAYLOAD_TOO_LARGE', `modelDefinition: more than ${MAX_MODEL_BYTES} bytes of files.`);
        await mkdir(join(root, posix.dirname(path)), { recursive: true });
        await writeFile(join(root, path), content, { mode: mode | 0o400 });
      } else {
        throw new ValidationError(`modelDefinition[${index}].type: ${file.type} is neither a file (48) nor a folder (53)`, 'modelDefinition');
      }
    }
    const archive = join(dir, 'code.tar.gz');
    const hash = createHash('sha256');
    const packed = createTar({ cwd: root, gzip: true, portable: true, follow: false }, ['.']);
    packed.on('data', (chunk: Buffer) => hash.update(chunk));
    await pipeline(packed, createWriteStream(archive));
    const sha256 = hash.digest('hex');
    await store.put(sha256, createReadStream(archive));
    return sha256;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The entry's path, relative and normalized, refused when it would leave the code folder. */
function confined(path: string, index: number): string {
  const normalized = posix.normalize(path.replaceAll('\\', '/'));
  if (path === '' || path.includes('\0') || posix.isAbsolute(normalized) || normalized === '..' || normalized.startsWith('../') || normalized === '.') {
    throw new ValidationError(`modelDefinition[${index}].path: "${path.slice(0, 200)}" must be a relative path inside the model directory`, 'modelDefinition');
  }
  return normalized;
}
