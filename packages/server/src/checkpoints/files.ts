import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * The files of a checkpoint directory as `{relative path: bytes}`. Symbolic links are listed with size 0 and
 * never followed, so a checkpoint cannot point the server at files outside its directory.
 */
export async function listResources(dir: string): Promise<Record<string, number>> {
  const resources: Record<string, number> = {};
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else resources[relative(dir, path)] = entry.isFile() ? (await lstat(path)).size : 0;
    }
  };
  await walk(dir);
  return resources;
}
