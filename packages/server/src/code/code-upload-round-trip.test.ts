import { NotFoundError } from '@periscope/core';
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from 'tar';
import { installContentTypes } from '../http/content-types.js';
import { installErrorHandling } from '../http/errors.js';
import { adminHeaders, call, testApp } from '../testing/app.js';
import { DATABASES, tempDir } from '../testing/databases.js';
import { CodeStore } from './code-store.js';
import { codeRoutes } from './routes.js';
import { sha256, tarGz } from './test-archives.js';

const sqlite = DATABASES.find((d) => d.name === 'sqlite')!;

/** A project directory packed with the tar package, as the CLI will pack one. */
async function packedProject(): Promise<{ archive: Buffer; files: Record<string, string> }> {
  const dir = tempDir();
  const files = { 'train.py': 'import sys\nprint("training", sys.argv)\n', 'conf/params.yaml': 'lr: 0.01\n', 'data/ünïcode name.txt': 'bytes\u0000and more' };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  chmodSync(join(dir, 'train.py'), 0o755);
  symlinkSync('conf/params.yaml', join(dir, 'params.yaml'));
  const chunks: Buffer[] = [];
  for await (const chunk of create({ gzip: true, cwd: dir, portable: true }, ['.'])) chunks.push(chunk as Buffer);
  return { archive: Buffer.concat(chunks), files };
}

function put(http: { inject: (opts: object) => Promise<{ statusCode: number; json: () => any; headers: Record<string, unknown> }> }, digest: string, payload: Buffer | Readable, contentType = 'application/gzip', auth: Record<string, string> = {}) {
  return http.inject({ method: 'PUT', url: `/api/v1/code/${digest}`, payload, headers: { 'content-type': contentType, ...auth } });
}

/** The code routes alone, on a store with a small size limit. */
async function smallStoreApp(maxBytes: number) {
  const dataDir = tempDir();
  const http = Fastify().withTypeProvider<TypeBoxTypeProvider>();
  http.setValidatorCompiler(TypeBoxValidatorCompiler);
  installContentTypes(http);
  installErrorHandling(http);
  await http.register(codeRoutes(new CodeStore(dataDir, { maxBytes })));
  after(() => http.close());
  return { http, dataDir };
}

describe('code upload round trip', () => {
  test('an archive PUT under its sha256 materializes into a work dir with the same files', async () => {
    const app = await testApp(await sqlite.fresh());
    const { archive, files } = await packedProject();
    const digest = sha256(archive);

    assert.equal((await call(app, 'GET', `/api/v1/code/${digest}`)).status, 404);
    const response = await put(app.http, digest, archive, 'application/gzip', adminHeaders(app));
    assert.equal(response.statusCode, 200, JSON.stringify(response.json()));
    assert.deepEqual(response.json().result, { sha256: digest, size: archive.length });
    const got = await call(app, 'GET', `/api/v1/code/${digest}`);
    assert.deepEqual(got.body.result, { sha256: digest, size: archive.length });

    const workDir = join(tempDir(), 'trial-1');
    await app.code.materialize({ syncMode: 'upload', url: digest }, workDir);
    for (const [path, text] of Object.entries(files)) assert.equal(readFileSync(join(workDir, path), 'utf8'), text, path);
    assert.equal(readlinkSync(join(workDir, 'params.yaml')), 'conf/params.yaml');
    assert.equal(statSync(join(workDir, 'train.py')).mode & 0o111, 0o111, 'the executable bit survives');

    // Idempotent: the same digest again answers the stored archive, whatever the content type.
    const again = await put(app.http, digest, archive, 'application/octet-stream', adminHeaders(app));
    assert.deepEqual(again.json().result, { sha256: digest, size: archive.length });
  });

  test('a body that does not hash to the URL digest is refused with 400 naming both digests, and not stored', async () => {
    const app = await testApp(await sqlite.fresh());
    const archive = tarGz([{ path: 'a.txt', body: 'a' }]);
    const claimed = sha256(Buffer.from('something else'));
    const response = await put(app.http, claimed, archive, 'application/x-gzip', adminHeaders(app));
    assert.equal(response.statusCode, 400);
    const message: string = response.json().message;
    assert.ok(message.includes(claimed) && message.includes(sha256(archive)), message);
    assert.equal((await call(app, 'GET', `/api/v1/code/${claimed}`)).status, 404);
    assert.equal((await call(app, 'GET', `/api/v1/code/${sha256(archive)}`)).status, 404);
  });

  test('a digest that is not 64 lowercase hex digits is refused by the route', async () => {
    const app = await testApp(await sqlite.fresh());
    const archive = tarGz([{ path: 'a.txt', body: 'a' }]);
    for (const bad of [sha256(archive).toUpperCase(), '..%2F..%2Fetc%2Fpasswd', 'abc']) {
      const response = await put(app.http, bad, archive, 'application/gzip', adminHeaders(app));
      assert.equal(response.statusCode, 400, bad);
      assert.match(response.json().message, /sha256/);
    }
  });

  test('a body without an archive Content-Type is refused with 415 saying what to send', async () => {
    const app = await testApp(await sqlite.fresh());
    const archive = tarGz([{ path: 'a.txt', body: 'a' }]);
    for (const headers of [{}, { 'content-type': 'multipart/form-data; boundary=x' }, { 'content-type': 'text/plain' }]) {
      const response = await app.http.inject({ method: 'PUT', url: `/api/v1/code/${sha256(archive)}`, payload: archive, headers: { ...headers, ...adminHeaders(app) } });
      assert.equal(response.statusCode, 415, JSON.stringify(headers));
      assert.match(response.json().message, /Send the archive as the raw body with Content-Type application\/gzip/);
    }
  });

  test('materializing a digest that was never uploaded is a NotFoundError that says how to upload it', async () => {
    const app = await testApp(await sqlite.fresh());
    const digest = 'ab'.repeat(32);
    await assert.rejects(app.code.materialize({ syncMode: 'upload', url: digest }, join(tempDir(), 'w')), (error: unknown) => {
      assert.ok(error instanceof NotFoundError);
      assert.equal(error.message, `Code archive ${digest} was not uploaded (PUT /api/v1/code/${digest}).`);
      return true;
    });
  });
});

describe('code upload size limit', () => {
  test('a declared Content-Length over the limit is refused with 413 before the body is read', async () => {
    const { http, dataDir } = await smallStoreApp(1024);
    const archive = tarGz([{ path: 'big.bin', body: randomBytes(3000).toString('base64') }]);
    assert.ok(archive.length > 1024);
    const response = await put(http, sha256(archive), archive);
    assert.equal(response.statusCode, 413);
    assert.equal(response.json().status, 'PAYLOAD_TOO_LARGE');
    assert.match(response.json().message, /larger than the 1024-byte limit/);
    assert.equal(response.headers.connection, 'close');
    assert.equal(existsSync(join(dataDir, 'code')), false);
  });

  test('a streamed body without Content-Length is cut off at the limit with 413 and leaves no file', async () => {
    const { http, dataDir } = await smallStoreApp(1024);
    const archive = tarGz([{ path: 'big.bin', body: randomBytes(3000).toString('base64') }]);
    assert.ok(archive.length > 1024);
    const halves = [archive.subarray(0, 600), archive.subarray(600)];
    const response = await put(http, sha256(archive), Readable.from(halves));
    assert.equal(response.statusCode, 413);
    assert.equal(response.json().status, 'PAYLOAD_TOO_LARGE');
    assert.deepEqual(readdirSync(join(dataDir, 'code')), [], 'the temporary file is removed');
  });

  test('an archive within the limit is accepted by the same store', async () => {
    const { http } = await smallStoreApp(1024);
    const archive = tarGz([{ path: 'small.txt', body: 'small' }]);
    const response = await put(http, sha256(archive), Readable.from([archive]));
    assert.equal(response.statusCode, 200, JSON.stringify(response.json()));
  });
});
