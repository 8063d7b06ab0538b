/**
 * An archive with more entries than the server extracts is refused at upload with a 413 naming the limit
 * (default 50,000; configurable through the store's archiveLimits), and nothing is stored.
 */
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { installContentTypes } from '../http/content-types.js';
import { installErrorHandling } from '../http/errors.js';
import { tempDir } from '../testing/databases.js';
import { DEFAULT_MAX_ENTRIES } from './archive-entries.js';
import { CodeStore } from './code-store.js';
import { codeRoutes } from './routes.js';
import { sha256, tarGz } from './test-archives.js';

async function server(store: CodeStore) {
  const http = Fastify().withTypeProvider<TypeBoxTypeProvider>();
  http.setValidatorCompiler(TypeBoxValidatorCompiler);
  installContentTypes(http);
  installErrorHandling(http);
  await http.register(codeRoutes(store));
  after(() => http.close());
  return http;
}

const directories = (n: number) => tarGz(Array.from({ length: n }, (_, i) => ({ path: `d${i}/`, type: 'Directory' as const })));

describe('archive entry count', () => {
  it(`the default limit is 50,000 entries, refused at upload with a 413`, async () => {
    assert.equal(DEFAULT_MAX_ENTRIES, 50_000);
    const store = new CodeStore(tempDir());
    const http = await server(store);
    const archive = directories(DEFAULT_MAX_ENTRIES + 1);
    const answer = await http.inject({ method: 'PUT', url: `/api/v1/code/${sha256(archive)}`, payload: archive, headers: { 'content-type': 'application/gzip' } });
    assert.equal(answer.statusCode, 413);
    assert.equal(answer.json().status, 'PAYLOAD_TOO_LARGE');
    assert.equal(answer.json().message, 'Archive has more than 50000 entries.');
    assert.equal(existsSync(store.path(sha256(archive))), false);
  });

  it('the limit is the store option; at the limit an archive is accepted', async () => {
    const store = new CodeStore(tempDir(), { archiveLimits: { maxEntries: 10 } });
    const http = await server(store);
    const ok = directories(10);
    assert.equal((await http.inject({ method: 'PUT', url: `/api/v1/code/${sha256(ok)}`, payload: ok, headers: { 'content-type': 'application/gzip' } })).statusCode, 200);
    const over = directories(11);
    const answer = await http.inject({ method: 'PUT', url: `/api/v1/code/${sha256(over)}`, payload: over, headers: { 'content-type': 'application/gzip' } });
    assert.equal(answer.statusCode, 413);
    assert.equal(answer.json().message, 'Archive has more than 10 entries.');
  });
});
