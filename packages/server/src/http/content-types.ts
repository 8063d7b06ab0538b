import type { FastifyInstance } from 'fastify';
import { ValidationError } from '@periscope/core';

/**
 * JSON that tolerates an empty body: the Submarine Python client sends `Content-Type: application/json` with
 * no body on GET and DELETE, which Fastify's own parser rejects. YAML bodies are accepted as Submarine does.
 */
export function installContentTypes(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new ValidationError(`Malformed JSON body: ${(error as Error).message}`), undefined);
    }
  });
  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'string' }, async (_request: unknown, body: string | Buffer) => {
    const text = body.toString();
    if (text.trim() === '') return undefined;
    // Loaded on first use: most clients send JSON, and the idle server should stay small.
    const { default: YAML } = await import('yaml');
    try {
      return YAML.parse(text, { maxAliasCount: 100 });
    } catch (error) {
      throw new ValidationError(`Malformed YAML body: ${(error as Error).message.split('\n')[0]}`);
    }
  });
}
