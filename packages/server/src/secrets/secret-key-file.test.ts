/** The key that seals stored git passwords: created once, owner-only, checked at every start. */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gitClone } from '../code/git-sync.js';
import { CodeSyncError } from '../code/errors.js';
import { tempDir } from '../testing/databases.js';
import { start } from '../testing/server-process.js';
import { SecretBox, SecretKeyError, SecretOpenError, SECRET_KEY_FILE } from './secret-box.js';

describe('secret key file', () => {
  it('is created at first load with mode 0600 and 32 bytes, and the same key is read back', async () => {
    const dataDir = join(tempDir(), 'fresh');
    const first = await SecretBox.load(dataDir);
    const file = join(dataDir, SECRET_KEY_FILE);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(file).size, 32);
    const sealed = first.seal('hunter2');
    assert.match(sealed, /^enc:v1:[\w-]+$/);
    assert.notEqual(first.seal('hunter2'), sealed, 'a fresh IV each time');
    assert.equal((await SecretBox.load(dataDir)).open(sealed), 'hunter2');
    assert.equal(JSON.stringify({ first }), '{"first":"SecretBox"}');
  });

  it('two servers starting on one data dir end up with one key', async () => {
    const dataDir = tempDir();
    const boxes = await Promise.all(Array.from({ length: 8 }, () => SecretBox.load(dataDir)));
    const sealed = boxes[0]!.seal('same');
    for (const box of boxes) assert.equal(box.open(sealed), 'same');
  });

  it('refuses a key file others can read, or of the wrong size, naming the file and the fix', async () => {
    const dataDir = tempDir();
    await SecretBox.load(dataDir);
    const file = join(dataDir, SECRET_KEY_FILE);
    chmodSync(file, 0o644);
    await assert.rejects(SecretBox.load(dataDir), (error: unknown) => {
      assert.ok(error instanceof SecretKeyError);
      assert.equal(error.message.startsWith(`${file} has mode 0644, so other users may read the key`), true, error.message);
      assert.match(error.message, /it must be 0600 \(chmod 600 /);
      return true;
    });
    chmodSync(file, 0o600);
    writeFileSync(file, readFileSync(file).subarray(0, 16));
    await assert.rejects(SecretBox.load(dataDir), (error: unknown) => {
      assert.ok(error instanceof SecretKeyError);
      assert.match(error.message, /holds 16 bytes, but a Periscope secret key is 32 random bytes/);
      return true;
    });
  });

  it('opens clear (older) values as they are, and says so when a sealed one does not open', async () => {
    const box = await SecretBox.load(tempDir());
    assert.equal(box.open('plain-old-password'), 'plain-old-password');
    const other = await SecretBox.load(tempDir());
    assert.throws(() => other.open(box.seal('x')), (error: unknown) => error instanceof SecretOpenError && /cannot be read with this server's key/.test(error.message));
    assert.throws(() => box.open('enc:v1:AAAA'), SecretOpenError);
  });

  it('a real server refuses to start with a key file others can read', async () => {
    const dataDir = tempDir();
    await SecretBox.load(dataDir);
    chmodSync(join(dataDir, SECRET_KEY_FILE), 0o640);
    await assert.rejects(start(['--data-dir', dataDir, '--port', '0']), (error: unknown) => {
      assert.match((error as Error).message, /server exited with 1: .*periscope: cannot start: .*secret\.key has mode 0640/s);
      return true;
    });
  });
});

describe('git clone messages', () => {
  it('never quote a URL password; one with an unencoded @ is refused before git runs', async () => {
    await assert.rejects(gitClone({ url: 'http://bob:se@cr3t-pw@127.0.0.1:9/x.git', timeoutMs: 30_000 }, join(tempDir(), 'work')), (error: unknown) => {
      assert.ok(error instanceof CodeSyncError);
      assert.equal(error.message, 'Cannot run git clone of http://bob:***@127.0.0.1:9/x.git: the URL has more than one @ before its host; write an @ in the user name or password as %40.');
      return true;
    });
    await assert.rejects(gitClone({ url: 'http://bob:s3cr%40t-pw@127.0.0.1:9/x.git', timeoutMs: 30_000 }, join(tempDir(), 'work')), (error: unknown) => {
      assert.ok(error instanceof CodeSyncError);
      assert.ok(!error.message.includes('s3cr') && !error.message.includes('t-pw'), error.message);
      return true;
    });
  });
});
