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
      done(null, parseJson(text));
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

/**
 * JSON, plus the bare `NaN`, `Infinity` and `-Infinity` that Python's json.dumps writes for a diverged loss:
 * read as the strings metric values travel as (core's NON_FINITE), instead of refusing the training's report.
 */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!/NaN|Infinity/.test(text)) throw error;
    return JSON.parse(quoteNonFinite(text));
  }
}

const BARE = ['-Infinity', 'Infinity', 'NaN'];

/** Quotes the bare non-finite literals outside strings; everything else is copied as it is. */
function quoteNonFinite(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    const literal = BARE.find((word) => text.startsWith(word, i));
    if (literal && !/[\w.]/.test(text[i - 1] ?? '') && !/[\w.]/.test(text[i + literal.length] ?? '')) {
      out += `"${literal}"`;
      i += literal.length - 1;
      continue;
    }
    out += c;
  }
  return out;
}
