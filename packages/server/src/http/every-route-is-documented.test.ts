/**
 * OpenAPI documents every API route the app serves, the Determined and netunicorn faces included: each route in
 * the route-policy table must appear in /api/docs/json under its path and method, with a summary.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { testApp } from '../testing/app.js';
import { tempDir } from '../testing/databases.js';

interface Operation {
  summary?: string;
  tags?: string[];
}

it('every API route is in the OpenAPI document, with a summary; the faces under their own tags', async () => {
  const app = await testApp(join(tempDir(), 'db.sqlite'));
  const docs = await app.http.inject({ method: 'GET', url: '/api/docs/json' });
  assert.equal(docs.statusCode, 200);
  const paths = (docs.json() as { paths: Record<string, Record<string, Operation>> }).paths;
  const missing: string[] = [];
  const unsummarized: string[] = [];
  for (const route of app.routes) {
    if (route.method === 'HEAD' || route.method === 'OPTIONS') continue;
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    const operation = paths[path]?.[route.method.toLowerCase()];
    if (!operation) missing.push(`${route.method} ${route.url}`);
    else if (!operation.summary) unsummarized.push(`${route.method} ${route.url}`);
  }
  assert.deepEqual(missing, [], 'routes missing from OpenAPI');
  assert.deepEqual(unsummarized, [], 'routes without a summary');

  const under = (prefix: string) => app.routes.filter((r) => r.url.startsWith(prefix) && r.method !== 'HEAD');
  // The faces' route counts (peer-wire/README.md): Determined 26 client operations + /info (its checkpoint download
  // included); netunicorn 13 mediator routes + the gateway's 4 (graph and legacy pipeline, result, flags ×4).
  assert.ok(under('/determined/').length >= 27, `determined routes: ${under('/determined/').length}`);
  assert.ok(under('/netunicorn/api/').length >= 13, `netunicorn mediator routes: ${under('/netunicorn/api/').length}`);
  assert.ok(under('/netunicorn/gateway/').length >= 4, `netunicorn gateway routes: ${under('/netunicorn/gateway/').length}`);
  for (const [prefix, tag] of [['/determined/', 'determined'], ['/netunicorn/', 'netunicorn']] as const) {
    for (const route of under(prefix)) {
      const operation = paths[route.url.replace(/:(\w+)/g, '{$1}')]![route.method.toLowerCase()]!;
      assert.ok(operation.tags?.some((t) => t.startsWith(tag)), `${route.method} ${route.url} is tagged ${tag}: ${operation.tags}`);
    }
  }
});
