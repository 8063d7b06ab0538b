/**
 * Checkpoints the registry keeps after their experiment is deleted: a model version holds them, and, as in
 * Determined's registry, a version outlives the experiment that trained it. Deleting an experiment purges its
 * rows (trials, metrics, checkpoints) and `<dataDir>/checkpoints/<experiment>`; before that, each checkpoint a
 * version holds is moved here, as
 *
 *   <dataDir>/registry/<uuid>/checkpoint.json   what the API shows (its view then, metadata kept current) and
 *                                               the user who owned the experiment
 *   <dataDir>/registry/<uuid>/files/            the checkpoint's files, moved (a rename on one filesystem)
 *
 * The record is written before the files move, so a server that dies between the two finds the files at their
 * old place (the experiment is not gone yet) and the next attempt moves them. When the last version holding a
 * kept checkpoint goes, so does its directory.
 */
import { cp, lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checkpoint } from '@periscope/core';

export interface KeptCheckpoint {
  /** The checkpoint as the API shows it (training hparams and validation metrics as they were). */
  view: Checkpoint;
  /** Who owned its experiment: with admins, who may still read it by uuid (everyone reads it through models). */
  owner: string;
  /** When it was moved here (ms). */
  keptAt: number;
}

export class KeptCheckpoints {
  /** `root` is `<dataDir>/registry`. Uuids reach here validated by the route schemas: safe path segments. */
  constructor(private readonly root: string) {}

  async get(uuid: string): Promise<KeptCheckpoint | undefined> {
    const text = await readFile(this.recordFile(uuid), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as KeptCheckpoint);
  }

  /** Where its files are once moved; undefined while they are still at their old place (or for one not kept). */
  async filesDir(uuid: string): Promise<string | undefined> {
    const dir = join(this.root, uuid, 'files');
    return (await isDirectory(dir)) ? dir : undefined;
  }

  /** Records it, then moves its files from `source` (the trial's checkpoint dir). Safe to repeat. */
  async keep(view: Checkpoint, owner: string, source: string): Promise<void> {
    await mkdir(join(this.root, view.uuid), { recursive: true, mode: 0o700 });
    await this.save({ view, owner, keptAt: Date.now() });
    const target = join(this.root, view.uuid, 'files');
    if ((await isDirectory(target)) || !(await isDirectory(source))) return;
    try {
      await rename(source, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      // Another filesystem (a data dir spread over mounts): copy to a temporary name, then swap it in.
      const partial = `${target}.partial`;
      await rm(partial, { recursive: true, force: true });
      await cp(source, partial, { recursive: true, verbatimSymlinks: true, errorOnExist: true });
      await rename(partial, target);
      await rm(source, { recursive: true, force: true });
    }
  }

  /** Rewrites the record atomically (a metadata change). */
  async save(kept: KeptCheckpoint): Promise<void> {
    const file = this.recordFile(kept.view.uuid);
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(kept), { mode: 0o600 });
    await rename(temp, file);
  }

  /** Moves its files back to `target` (where its live experiment looks for them), if they were moved. */
  async restore(uuid: string, target: string): Promise<void> {
    const files = await this.filesDir(uuid);
    if (files && !(await isDirectory(target))) await rename(files, target);
  }

  /** Forgets it and removes its files (no version holds it any more). */
  async release(uuid: string): Promise<void> {
    await rm(join(this.root, uuid), { recursive: true, force: true });
  }

  private recordFile(uuid: string): string {
    return join(this.root, uuid, 'checkpoint.json');
  }
}

/** A directory itself, not a link to one: a link a job planted is never followed out of the data dir. */
async function isDirectory(path: string): Promise<boolean> {
  return lstat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
