/**
 * Node only: reads the token of a user at a master from the credentials file (`~/.periscope/credentials`, or
 * the file `PERISCOPE_CREDENTIALS` names). The SDK only reads it; `periscope user login` and `logout` write it.
 *
 * The format is core's (auth.ts). Its lookup (`credentialsKey`, `tokenFor`) is mirrored here rather than
 * imported: loading @periscope/core at run time loads TypeBox, ~0.7 s on every CLI command, all of them
 * needing a token. credentials-file.test.ts holds the mirror to core's answers.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CredentialsFile } from '@periscope/core';

/** `PERISCOPE_CREDENTIALS`, else `~/.periscope/credentials`; read at each call, not at import. */
export function credentialsPath(env: Record<string, string | undefined> = process.env): string {
  return env.PERISCOPE_CREDENTIALS?.trim() || join(homedir(), '.periscope', 'credentials');
}

/** The filed token of `user` (default: the master's current user) at `master`; a missing or unreadable file has none. */
export async function filedToken(master: string, user: string | undefined): Promise<{ user: string; token: string } | undefined> {
  const text = await readFile(credentialsPath(), 'utf8').catch(() => undefined);
  return lookUp(text, master, user);
}

/** Core's `tokenFor(parseCredentials(text), master, user)`. */
export function lookUp(text: string | undefined, master: string, user: string | undefined): { user: string; token: string } | undefined {
  let file: Partial<CredentialsFile> | undefined;
  try {
    file = text ? (JSON.parse(text) as Partial<CredentialsFile>) : undefined;
  } catch {
    return undefined;
  }
  if (file?.version !== 1 || typeof file.masters !== 'object' || file.masters === null) return undefined;
  const entry = file.masters[credentialsKey(master)];
  if (typeof entry?.user !== 'string' || typeof entry.tokens !== 'object' || entry.tokens === null) return undefined;
  const name = user ?? entry.user;
  const token = entry.tokens[name];
  return typeof token === 'string' ? { user: name, token } : undefined;
}

/** Core's `credentialsKey`: origin and path, `localhost` and `[::1]` read as `127.0.0.1`. */
function credentialsKey(master: string): string {
  const url = new URL(master.trim());
  if (url.hostname === 'localhost' || url.hostname === '[::1]') url.hostname = '127.0.0.1';
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}
