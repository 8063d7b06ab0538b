/**
 * API tokens: `pst_<selector>.<secret>`. The selector (random, not secret) finds the row; only a sha256 of
 * the secret is stored, and it is compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const TOKEN = /^pst_([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/;

export interface MintedToken {
  /** What the client sends; never stored. */
  token: string;
  selector: string;
  verifier: string;
}

export function mintToken(): MintedToken {
  const selector = randomBytes(12).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  return { token: `pst_${selector}.${secret}`, selector, verifier: digest(secret) };
}

/** The selector and the secret's digest of a well-formed token; undefined for anything else. */
export function parseToken(token: string): { selector: string; verifier: string } | undefined {
  const match = TOKEN.exec(token);
  return match ? { selector: match[1]!, verifier: digest(match[2]!) } : undefined;
}

export function verifiersMatch(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
