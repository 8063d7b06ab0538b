/**
 * The dashboard's build (packages/web/dist), served at `/`: its assets by path, and index.html for every other
 * page address outside the API, so a shared link to `/experiments/<id>` opens that page. Paths under `/api`
 * keep the API's own 404.
 */
import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { failure } from './envelope.js';

export async function serveWebApp(app: FastifyInstance, root: string): Promise<void> {
  const built = existsSync(join(root, 'index.html'));
  if (built) {
    await app.register(fastifyStatic, {
      root,
      // Hashed file names never change content: cached for a year; index.html is always asked again.
      setHeaders: (reply, path) => reply.header('cache-control', path.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable'),
      wildcard: true,
    });
  }
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    if (path.startsWith('/api/') || path === '/api' || path.startsWith('/determined/') || path.startsWith('/netunicorn/') || (request.method !== 'GET' && request.method !== 'HEAD')) {
      return reply.code(404).send(failure(404, `No route ${request.method} ${path}.`));
    }
    if (!built) {
      return reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send(`The dashboard is not built (no ${join(root, 'index.html')}): run \`npm run build\`, or use the API under /api/v1 (docs at /api/docs).\n`);
    }
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  });
}
