/**
 * Password hashing with scrypt (node:crypto), stored as `scrypt$N$r$p$salt$hash` so the cost can be raised
 * later without invalidating stored hashes.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt's N; 2^14 costs ~65 ms per hash here. Tests may pass a lower one (each hash records its own). */
export const DEFAULT_PASSWORD_COST = 16384;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { ...options, maxmem: 64 * 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function hashPassword(password: string, cost = DEFAULT_PASSWORD_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, { N: cost, r: R, p: P });
  return ['scrypt', cost, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await derive(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A password nobody chose: 24 random bytes, URL-safe (the first admin's, printed once). */
export function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * What the Determined SDK sends instead of the password (`isHashed: true`): sha512 of a fixed salt and the
 * password, in hex. It is as good as the password to whoever has it, so it is stored only as its own scrypt
 * verifier, beside the password's.
 */
export function determinedPreHash(password: string): string {
  return createHash('sha512').update(`GubPEmmotfiK9TMD6Zdw${password}`).digest('hex');
}
