/** The credentials file on this machine (format in core): read, and written atomically with mode 0600. */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseCredentials, serializeCredentials, withToken } from '@periscope/core';

/** Files `user`'s token for `master`, keeping what else the file holds. */
export async function fileToken(path: string, master: string, user: string, token: string): Promise<void> {
  const current = parseCredentials(await readFile(path, 'utf8').catch(() => undefined));
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, serializeCredentials(withToken(current, master, user, token)), { mode: 0o600 });
  // The mode is applied only when the file is created; a leftover temp file keeps whatever it had.
  await chmod(temp, 0o600);
  await rename(temp, path);
}
