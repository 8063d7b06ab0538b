/** Node-only helpers of the Determined surface: pack a model directory, read a config file, unpack a checkpoint. */
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { create as createTar, extract } from 'tar';
import type { ExperimentSpec } from '@periscope/core';

export { join };

export function defaultCheckpointDir(uuid: string): string {
  return join('checkpoints', uuid);
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(resolve(file)), { recursive: true });
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

export async function extractTar(archive: Uint8Array, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await pipeline(Readable.from([Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength)]), extract({ cwd: dir, strict: true }));
}

export interface PackedModel {
  archive: Uint8Array;
  sha256: string;
}

/**
 * The model directory as a tar.gz with paths relative to it, plus each of `includes` (files or directories
 * anywhere) under its own base name, as Determined's `includes` puts them beside the model code.
 */
export async function packModelDir(modelDir: string, includes: readonly string[] = []): Promise<PackedModel> {
  const root = resolve(modelDir);
  if (!(await stat(root).catch(() => undefined))?.isDirectory()) throw new TypeError(`modelDir: ${JSON.stringify(modelDir)} is not a directory`);
  let cwd = root;
  let staging: string | undefined;
  if (includes.length > 0) {
    // One tar needs one root: copy the model dir and the includes into a staging dir.
    staging = await mkdtemp(join(tmpdir(), 'periscope-model-'));
    cwd = staging;
    await cp(root, staging, { recursive: true });
    for (const include of includes) {
      const full = resolve(include);
      if (!(await stat(full).catch(() => undefined))) throw new TypeError(`includes: ${JSON.stringify(include)} does not exist`);
      await cp(full, join(staging, basename(full)), { recursive: true });
    }
  }
  try {
    const chunks: Buffer[] = [];
    const stream = createTar({ cwd, gzip: true, portable: true, noMtime: true, follow: false }, ['.']);
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    const archive = Buffer.concat(chunks);
    return { archive, sha256: createHash('sha256').update(archive).digest('hex') };
  } finally {
    if (staging) await rm(staging, { recursive: true, force: true });
  }
}

export interface LoadedConfig {
  spec: ExperimentSpec;
  warnings: string[];
}

/**
 * A config given as a path (YAML or JSON), a Determined config object, or a Periscope ExperimentSpec (it has
 * `meta` and `spec`). Determined configs are converted by core, whose warnings come back.
 */
export async function loadConfig(config: string | Record<string, unknown>): Promise<LoadedConfig> {
  let value: unknown = config;
  if (typeof config === 'string') {
    const text = await readFile(config, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new TypeError(`config: cannot read ${JSON.stringify(config)} (${error.code ?? error.message})`);
    });
    const YAML = (await import('yaml')).default;
    value = YAML.parse(text);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('config: expected a mapping (a Determined config or a Periscope ExperimentSpec)');
  const object = value as Record<string, unknown>;
  if (typeof object.meta === 'object' && typeof object.spec === 'object') return { spec: object as unknown as ExperimentSpec, warnings: [] };
  const { fromDeterminedConfig } = await import('@periscope/core/determined');
  return fromDeterminedConfig(object);
}
