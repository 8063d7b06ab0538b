import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** The key file's name in the data dir. Kept out of the database so a copy of the database reveals nothing. */
export const SECRET_KEY_FILE = 'secret.key';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** How a sealed value starts; the version names the scheme (AES-256-GCM, 12-byte IV, 16-byte tag). */
const PREFIX = 'enc:v1:';

/** The key file is unusable; the server must not start (it could neither read old secrets nor seal new ones). */
export class SecretKeyError extends Error {}

/** A stored value carries the sealed prefix but cannot be opened with this key. */
export class SecretOpenError extends Error {}

/**
 * Seals short secrets (git passwords) for storage with AES-256-GCM under a key kept in `<dataDir>/secret.key`.
 * A sealed value is `enc:v1:<base64url of iv | tag | ciphertext>`: base64url so it can also stand inside a
 * URL's userinfo. The key sits in a private field, so no log or JSON of this object can show it.
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new SecretKeyError(`a secret key is ${KEY_BYTES} bytes, not ${key.length}`);
    this.#key = Buffer.from(key);
  }

  /**
   * The data dir's key: read (refusing a file others can read or one of the wrong size), or, on the first
   * start, created with mode 0600. Creation is atomic even against a second server starting on the same dir:
   * the key is written to a temporary file and hard-linked into place, which fails if a key appeared meanwhile
   * (a rename would silently replace it, and what the other server sealed would be lost).
   */
  static async load(dataDir: string): Promise<SecretBox> {
    await mkdir(dataDir, { recursive: true });
    const file = join(dataDir, SECRET_KEY_FILE);
    const existing = await readKey(file);
    if (existing) return new SecretBox(existing);
    const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.chmod(0o600); // whatever the umask
      await handle.writeFile(randomBytes(KEY_BYTES));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temporary, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await unlink(temporary);
    }
    const key = await readKey(file);
    if (!key) throw new SecretKeyError(`${file} vanished while it was being created`);
    return new SecretBox(key);
  }

  static isSealed(value: string): boolean {
    return value.startsWith(PREFIX);
  }

  seal(plain: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** The plain text of a sealed value; a value stored before sealing existed (no prefix) is returned as is. */
  open(value: string): string {
    if (!SecretBox.isSealed(value)) return value;
    const raw = Buffer.from(value.slice(PREFIX.length), 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretOpenError('a stored secret is cut short and cannot be read');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretOpenError(`a stored secret cannot be read with this server's key (was ${SECRET_KEY_FILE} in the data dir replaced?)`);
    }
  }

  /** Never the key, whatever prints this object. */
  toJSON(): string {
    return 'SecretBox';
  }
}

/** The key in `file`, or undefined when there is none; throws SecretKeyError for a file that must not be used. */
async function readKey(file: string): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new SecretKeyError(`${file} is a symbolic link; the secret key must be a plain file (mode 0600)`);
    throw new SecretKeyError(`cannot read the secret key ${file}: ${(error as Error).message}`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new SecretKeyError(`${file} is not a plain file; the secret key must be one (mode 0600)`);
    const mode = info.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new SecretKeyError(
        `${file} has mode 0${mode.toString(8)}, so other users may read the key that protects stored git passwords; ` +
          `it must be 0600 (chmod 600 ${file}), and if others did read it, treat those passwords as exposed`,
      );
    }
    const key = await handle.readFile();
    if (key.length !== KEY_BYTES) {
      throw new SecretKeyError(
        `${file} holds ${key.length} bytes, but a Periscope secret key is ${KEY_BYTES} random bytes; ` +
          `restore the original file (stored git passwords cannot be read without it)`,
      );
    }
    return key;
  } finally {
    await handle.close();
  }
}
