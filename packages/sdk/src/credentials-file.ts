/**
 * Node only: reads the token of a user at a master from the credentials file (`~/.periscope/credentials`, or
 * the file `PERISCOPE_CREDENTIALS` names). The SDK only reads it; `periscope user login` and `logout` write it.
 * The file format and its pure helpers are core's (`tokenFor`).
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseCredentials, tokenFor } from '@periscope/core';

/** `PERISCOPE_CREDENTIALS`, else `~/.periscope/credentials`; read at each call, not at import. */
export function credentialsPath(env: Record<string, string | undefined> = process.env): string {
  return env.PERISCOPE_CREDENTIALS?.trim() || join(homedir(), '.periscope', 'credentials');
}

/** The filed token of `user` (default: the master's current user) at `master`; a missing or unreadable file has none. */
export async function filedToken(master: string, user: string | undefined): Promise<{ user: string; token: string } | undefined> {
  const text = await readFile(credentialsPath(), 'utf8').catch(() => undefined);
  return tokenFor(parseCredentials(text), master, user);
}
