/**
 * The credentials file as `periscope user login` and `logout` keep it: `~/.periscope/credentials` (or the file
 * `PERISCOPE_CREDENTIALS` names), the directory 0700 and the file 0600, replaced atomically (a temporary file
 * renamed over it) so a crash or a concurrent reader never sees half a file. The format is core's; the SDK
 * reads the same file for every client without a token of its own.
 *
 * Loaded only by the user commands (`await import`): core's runtime costs every other command ~0.7 s.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseCredentials, serializeCredentials, tokenFor, withoutToken, withToken, type CredentialsFile } from '@periscope/core/credentials';

export function credentialsPath(): string {
  return process.env.PERISCOPE_CREDENTIALS?.trim() || join(homedir(), '.periscope', 'credentials');
}

async function read(): Promise<CredentialsFile> {
  const text = await readFile(credentialsPath(), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  return parseCredentials(text);
}

async function write(file: CredentialsFile): Promise<void> {
  const path = credentialsPath();
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = join(dir, `.credentials-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(temporary, serializeCredentials(file), { mode: 0o600, flag: 'wx' });
    // `mode` applies only to a file created now, through the umask: make sure.
    await chmod(temporary, 0o600);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** The token filed for `user` (default: the current user) at `master`. */
export async function savedLogin(master: string, user: string | undefined): Promise<{ user: string; token: string } | undefined> {
  return tokenFor(await read(), master, user);
}

/** Files `user`'s token at `master` and makes `user` the current user there. */
export async function saveLogin(master: string, user: string, token: string): Promise<void> {
  await write(withToken(await read(), master, user, token));
}

/** Forgets `user`'s token at `master`. */
export async function forgetLogin(master: string, user: string): Promise<void> {
  await write(withoutToken(await read(), master, user));
}
