/**
 * The password inside a URL's userinfo (`scheme://user:password@host/...`), found without reparsing the
 * URL, so everything else in it stays byte for byte as the user wrote it. The authority ends at the first
 * `/`, `?` or `#`; the userinfo ends at its last `@` (as URL parsers read it), so a password with an
 * unencoded `@` is still found whole. scp-like remotes (`git@host:path`) carry no password.
 */
const AUTHORITY = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i;

export interface UrlPassword {
  /** `scheme://user:` */
  before: string;
  password: string;
  /** `@host...` to the end. */
  after: string;
}

/** The URL's userinfo password, when it has a non-empty one. */
export function urlPassword(url: string): UrlPassword | undefined {
  const m = AUTHORITY.exec(url);
  if (!m) return undefined;
  const authority = m[2]!;
  const at = authority.lastIndexOf('@');
  if (at < 0) return undefined;
  const colon = authority.indexOf(':');
  if (colon < 0 || colon > at) return undefined;
  const password = authority.slice(colon + 1, at);
  if (password === '') return undefined;
  return { before: m[1]! + authority.slice(0, colon + 1), password, after: url.slice(m[1]!.length + at) };
}

/** Whether the URL's authority holds more than one `@` (an unencoded one in the user name or password). */
export function hasAmbiguousUserinfo(url: string): boolean {
  const authority = AUTHORITY.exec(url)?.[2] ?? '';
  return authority.indexOf('@') !== authority.lastIndexOf('@');
}

/** The same URL with its userinfo password replaced (unchanged when it has none). */
export function withUrlPassword(url: string, replace: (password: string) => string): string {
  const found = urlPassword(url);
  return found ? found.before + replace(found.password) + found.after : url;
}

/** What a URL password is bound to: scheme, user and host (`scheme://user@host`), without the password. */
export function urlPasswordScope(url: string): string | undefined {
  const found = urlPassword(url);
  if (!found) return undefined;
  const host = /^@[^/?#]*/.exec(found.after)![0];
  return found.before.slice(0, -1) + host;
}
