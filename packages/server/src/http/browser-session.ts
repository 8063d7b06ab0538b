/**
 * The browser's session: the dashboard cannot put a bearer token on an EventSource or a download link, so a
 * login from the browser keeps its token in an HttpOnly cookie instead. A cookie rides along on every request to
 * the server, also on one another site makes a browser send, so anything that changes state must carry the
 * CSRF token as well: it is derived from the session token, which another site can neither read nor guess, and
 * the dashboard reads it from a second cookie (scripts of this origin only may read it). Bearer tokens work as
 * before for every other client.
 */
import { ForbiddenError } from '@periscope/core';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'periscope_session';
export const CSRF_COOKIE = 'periscope_csrf';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('periscope csrf').digest('base64url');
}

/** Sets both cookies; `secure` under TLS, so they never travel in the clear. */
export function setSessionCookies(reply: FastifyReply, token: string, expiresAt: Date, secure: boolean): string {
  const csrf = csrfTokenFor(token);
  const common = { path: '/', sameSite: 'strict', secure, expires: expiresAt } as const;
  void reply.setCookie(SESSION_COOKIE, token, { ...common, httpOnly: true });
  void reply.setCookie(CSRF_COOKIE, csrf, { ...common, httpOnly: false });
  return csrf;
}

export function clearSessionCookies(reply: FastifyReply, secure: boolean): void {
  for (const name of [SESSION_COOKIE, CSRF_COOKIE]) void reply.clearCookie(name, { path: '/', sameSite: 'strict', secure });
}

/**
 * The Authorization a request carries: its own header, else the session cookie's token, held to the CSRF rule
 * when the request would change something.
 */
export function authorizationOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) return header;
  const token = request.cookies[SESSION_COOKIE];
  if (token === undefined || token === '') return undefined;
  if (!SAFE_METHODS.has(request.method)) {
    const sent = request.headers[CSRF_HEADER];
    const expected = Buffer.from(csrfTokenFor(token));
    const given = Buffer.from(typeof sent === 'string' ? sent : '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new ForbiddenError(`A request that changes something must carry the ${CSRF_HEADER} header (the ${CSRF_COOKIE} cookie's value) with the session cookie.`);
    }
  }
  return `Bearer ${token}`;
}

/**
 * Browsers name the page that sent a request in `Origin`; one from another site is refused before it can change
 * anything, even where no cookie is involved (`--auth none`, where every caller is admin). Clients that are not
 * browsers send no Origin.
 */
export function refuseCrossSite(request: FastifyRequest): void {
  if (SAFE_METHODS.has(request.method)) return;
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const host = hostOf(origin);
  // `Origin: null` (a sandboxed page, a file) is no site of ours either.
  if (host === undefined) throw new ForbiddenError(`Cross-site request refused: Origin ${origin} is not this server.`);
  // Behind a proxy the Host it forwards may be its own; the host the browser used is then X-Forwarded-Host.
  const forwarded = request.headers['x-forwarded-host'];
  const scheme = new URL(origin).protocol;
  const ours = [request.headers.host, typeof forwarded === 'string' ? forwarded : undefined].map((h) => h && hostOf(`${scheme}//${h}`));
  if (!ours.includes(host)) throw new ForbiddenError(`Cross-site request refused: Origin ${origin} is not this server.`);
}

/** host[:port] as the URL parser writes it (a default port dropped), or undefined for what is not a URL. */
function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}
