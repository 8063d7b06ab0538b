/**
 * Node only: reads the token of a user at a master from the credentials file (`~/.periscope/credentials`, or
 * the file `PERISCOPE_CREDENTIALS` names). The SDK only reads it; `periscope user login` and `logout` write it.
 *
 * The format is core's, imported from its TypeBox-free subpath: every CLI command reads this file, and loading
 * the schemas would cost it ~0.7 s.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseCredentials, tokenFor } from '@periscope/core/credentials';

/** `PERISCOPE_CREDENTIALS`, else `~/.periscope/credentials`; read at each call, not at import. */
export function credentialsPath(env: Record<string, string | undefined> = process.env): string {
  return env.PERISCOPE_CREDENTIALS?.trim() || join(homedir(), '.periscope', 'credentials');
}

/** The filed token of `user` (default: the master's current user) at `master`; a missing or unreadable file has none. */
export async function filedToken(master: string, user: string | undefined): Promise<{ user: string; token: string } | undefined> {
  const text = await readFile(credentialsPath(), 'utf8').catch(() => undefined);
  return lookUp(text, master, user);
}

/** The token filed in a credentials file's text (core's reading: master spellings, default user, garbage). */
export function lookUp(text: string | undefined, master: string, user: string | undefined): { user: string; token: string } | undefined {
  return tokenFor(parseCredentials(text), master, user);
}
