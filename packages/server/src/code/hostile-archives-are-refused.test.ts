import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminHeaders, call, testApp } from '../testing/app.js';
import { DATABASES, tempDir } from '../testing/databases.js';
import { CodeSync } from './code-sync.js';
import { ArchiveError } from './errors.js';
import { extractArchive, inspectArchive } from './extract.js';
import { sha256, tarGz, type TestEntry } from './test-archives.js';

const sqlite = DATABASES.find((d) => d.name === 'sqlite')!;

interface Case {
  name: string;
  entries: TestEntry[];
  /** The entry the message must name. */
  entry: string;
  /** A phrase the message must contain. */
  says: string;
}

const hostile: Case[] = [
  { name: 'a ../ path', entries: [{ path: 'ok.txt', body: 'fine' }, { path: '../evil', body: 'pwned' }], entry: '../evil', says: '".." segment' },
  { name: 'a .. segment deeper in', entries: [{ path: 'a/../../evil', body: 'pwned' }], entry: 'a/../../evil', says: '".." segment' },
  { name: 'an absolute path', entries: [{ path: '/abs/path', body: 'pwned' }], entry: '/abs/path', says: 'absolute path' },
  { name: 'an absolute symlink', entries: [{ path: 'passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' }], entry: 'passwd', says: 'absolute path "/etc/passwd"' },
  { name: 'a symlink pointing outside', entries: [{ path: 'sub/', type: 'Directory' }, { path: 'sub/x', type: 'SymbolicLink', linkpath: '../../x' }], entry: 'sub/x', says: 'points outside' },
  {
    name: 'a symlink escaping through another symlink',
    entries: [
      { path: 'm', type: 'SymbolicLink', linkpath: 'd/e/l/..' },
      { path: 'd/e/l', type: 'SymbolicLink', linkpath: '../..' },
    ],
    entry: 'm',
    says: 'points outside',
  },
  {
    name: 'a file written through a symlink',
    entries: [
      { path: 'tmp', type: 'SymbolicLink', linkpath: '.' },
      { path: 'tmp/file', body: 'through the link' },
    ],
    entry: 'tmp/file',
    says: 'which is a symlink',
  },
  { name: 'a hard link to an outside file', entries: [{ path: 'h', type: 'Link', linkpath: '../outside' }], entry: 'h', says: '".." segment' },
  { name: 'a hard link to an absolute path', entries: [{ path: 'h', type: 'Link', linkpath: '/etc/shadow' }], entry: 'h', says: 'absolute hard-link target' },
  { name: 'a hard link to a symlink', entries: [{ path: 's', type: 'SymbolicLink', linkpath: 'x' }, { path: 'h', type: 'Link', linkpath: 's' }], entry: 'h', says: 'not a regular file' },
  { name: 'a device', entries: [{ path: 'null', type: 'CharacterDevice' }], entry: 'null', says: 'only files, directories and symlinks' },
  { name: 'a symlink replaced by a directory', entries: [{ path: 'x', type: 'SymbolicLink', linkpath: 'y' }, { path: 'x', type: 'Directory' }], entry: 'x', says: 'appears twice' },
];

describe('hostile archives are refused before anything is written', () => {
  for (const c of hostile) {
    test(`extraction refuses ${c.name}, naming the entry`, async () => {
      const root = tempDir();
      const file = join(root, 'hostile.tar.gz');
      writeFileSync(file, tarGz(c.entries));
      const target = join(root, 'work', 'dir');
      await assert.rejects(extractArchive(file, target), (error: unknown) => {
        assert.ok(error instanceof ArchiveError, String(error));
        assert.equal(error.httpStatus, 400);
        assert.equal(error.entry, c.entry);
        assert.ok(error.message.includes(JSON.stringify(c.entry)), error.message);
        assert.ok(error.message.includes(c.says), error.message);
        return true;
      });
      assert.equal(existsSync(join(root, 'work')), false, 'nothing may be created');
      assert.deepEqual(readdirSync(root), ['hostile.tar.gz']);
    });
  }

  test('the upload route refuses each with 400 naming the entry, and stores nothing', async () => {
    const app = await testApp(await sqlite.fresh());
    for (const c of hostile) {
      const archive = tarGz(c.entries);
      const digest = sha256(archive);
      const response = await app.http.inject({ method: 'PUT', url: `/api/v1/code/${digest}`, payload: archive, headers: { 'content-type': 'application/gzip', ...adminHeaders(app) } });
      assert.equal(response.statusCode, 400, c.name);
      const body = response.json();
      assert.equal(body.status, 'BAD_REQUEST');
      assert.ok(body.message.includes(JSON.stringify(c.entry)), `${c.name}: ${body.message}`);
      assert.equal((await call(app, 'GET', `/api/v1/code/${digest}`)).status, 404, c.name);
    }
  });

  test('an archive planted in the store past the upload check is still refused at materialize', async () => {
    const dataDir = tempDir();
    const sync = new CodeSync(dataDir);
    const archive = tarGz([{ path: '../evil', body: 'pwned' }]);
    const digest = sha256(archive);
    mkdirSync(join(dataDir, 'code'));
    writeFileSync(sync.store.path(digest), archive);
    const workDir = join(dataDir, 'work');
    await assert.rejects(sync.materialize({ syncMode: 'upload', url: digest }, workDir), ArchiveError);
    assert.equal(existsSync(workDir), false);
    assert.equal(existsSync(join(dataDir, 'evil')), false);
  });

  test('bytes that are not a tar.gz are refused as unreadable', async () => {
    const root = tempDir();
    const file = join(root, 'junk.tar.gz');
    writeFileSync(file, Buffer.from('this is not an archive at all, just some text that goes on for a while'.repeat(20)));
    await assert.rejects(inspectArchive(file), (error: unknown) => error instanceof ArchiveError && /Not a readable tar\.gz archive/.test(error.message));
  });

  test('archive limits bound the entry count and the unpacked size', async () => {
    const root = tempDir();
    const file = join(root, 'big.tar.gz');
    writeFileSync(file, tarGz([{ path: 'a', body: 'x'.repeat(100) }, { path: 'b', body: 'y'.repeat(100) }]));
    await assert.rejects(inspectArchive(file, { maxEntries: 1 }), /more than 1 entries/);
    await assert.rejects(inspectArchive(file, { maxUnpackedBytes: 150 }), /unpacks to more than 150 bytes \(at entry "b"\)/);
  });
});

describe('safe archives extract as written', () => {
  test('relative symlinks inside, hard links to earlier files, ./ roots and special mode bits', async () => {
    const root = tempDir();
    const file = join(root, 'safe.tar.gz');
    writeFileSync(
      file,
      tarGz([
        { path: './', type: 'Directory' },
        { path: './src/', type: 'Directory' },
        { path: './src/train.py', body: 'print("hi")\n', mode: 0o4755 },
        { path: './lib/current', type: 'SymbolicLink', linkpath: '../src/train.py' },
        { path: './up', type: 'SymbolicLink', linkpath: 'src/..' },
        { path: './copy.py', type: 'Link', linkpath: 'src/train.py' },
      ]),
    );
    const target = join(root, 'out');
    const summary = await extractArchive(file, target);
    assert.equal(summary.entries, 6);
    assert.equal(readFileSync(join(target, 'src/train.py'), 'utf8'), 'print("hi")\n');
    assert.equal(readlinkSync(join(target, 'lib/current')), '../src/train.py');
    assert.equal(readFileSync(join(target, 'lib/current'), 'utf8'), 'print("hi")\n');
    assert.equal(readFileSync(join(target, 'copy.py'), 'utf8'), 'print("hi")\n');
    const mode = statSync(join(target, 'src/train.py')).mode;
    assert.equal(mode & 0o7000, 0, 'setuid is dropped');
    assert.equal(mode & 0o100, 0o100, 'executable bit is kept');
  });
});
