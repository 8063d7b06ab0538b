/**
 * The credentials file (`~/.periscope/credentials`, mode 0600; `PERISCOPE_CREDENTIALS` names another path):
 * per master, the tokens of the users logged in there and which of them is current. Pure functions; the server,
 * the SDK and the CLI each do their own I/O. No TypeBox here: every CLI command reads this file, and loading
 * the schemas would cost it ~0.7 s (import it as `@periscope/core/credentials`).
 *
 *   {"version": 1, "masters": {"http://127.0.0.1:32080": {"user": "admin", "tokens": {"admin": "…"}}}}
 */

export interface MasterCredentials {
  /** The user a client acts as when none is named (the last one logged in). */
  user: string;
  tokens: Record<string, string>;
}

export interface CredentialsFile {
  version: 1;
  masters: Record<string, MasterCredentials>;
}

export const EMPTY_CREDENTIALS: CredentialsFile = { version: 1, masters: {} };

/**
 * The key a master is filed under: origin and path, with `localhost` and `[::1]` read as `127.0.0.1`, so the
 * server's own `http://127.0.0.1:32080` is found from `http://localhost:32080/`.
 */
export function credentialsKey(master: string): string {
  const url = new URL(master.trim());
  if (url.hostname === 'localhost' || url.hostname === '[::1]') url.hostname = '127.0.0.1';
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/** Reads a credentials file's text; anything unreadable counts as empty (a client then simply has no token). */
export function parseCredentials(text: string | undefined): CredentialsFile {
  if (!text) return structuredClone(EMPTY_CREDENTIALS);
  try {
    const value = JSON.parse(text) as Partial<CredentialsFile>;
    if (value?.version !== 1 || typeof value.masters !== 'object' || value.masters === null) return structuredClone(EMPTY_CREDENTIALS);
    const masters: Record<string, MasterCredentials> = {};
    for (const [key, entry] of Object.entries(value.masters)) {
      if (typeof entry?.user !== 'string' || typeof entry.tokens !== 'object' || entry.tokens === null) continue;
      const tokens = Object.fromEntries(Object.entries(entry.tokens).filter(([, token]) => typeof token === 'string'));
      masters[key] = { user: entry.user, tokens };
    }
    return { version: 1, masters };
  } catch {
    return structuredClone(EMPTY_CREDENTIALS);
  }
}

export function serializeCredentials(file: CredentialsFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** The token for `user` (default: the master's current user) at `master`, if one is filed. */
export function tokenFor(file: CredentialsFile, master: string, user?: string): { user: string; token: string } | undefined {
  const entry = file.masters[credentialsKey(master)];
  if (!entry) return undefined;
  const name = user ?? entry.user;
  const token = entry.tokens[name];
  return token === undefined ? undefined : { user: name, token };
}

/** The file with `user`'s token at `master` filed, and `user` made that master's current user. */
export function withToken(file: CredentialsFile, master: string, user: string, token: string): CredentialsFile {
  const key = credentialsKey(master);
  const entry = file.masters[key];
  return { version: 1, masters: { ...file.masters, [key]: { user, tokens: { ...entry?.tokens, [user]: token } } } };
}

/** The file without `user`'s token at `master` (the current user falls back to another one filed there). */
export function withoutToken(file: CredentialsFile, master: string, user: string): CredentialsFile {
  const key = credentialsKey(master);
  const entry = file.masters[key];
  if (!entry) return file;
  const { [user]: _dropped, ...tokens } = entry.tokens;
  const masters = { ...file.masters };
  const others = Object.keys(tokens);
  if (others.length === 0) delete masters[key];
  else masters[key] = { user: entry.user === user ? others[0]! : entry.user, tokens };
  return { version: 1, masters };
}
