import { Envelope, ErrorEnvelope, NotFoundError, PeriscopeError } from '@periscope/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Readable } from 'node:stream';
import Type from 'typebox';
import { ok } from '../http/envelope.js';
import type { CodeStore } from './code-store.js';

const tags = ['code'];
const ARCHIVE_TYPES = ['application/gzip', 'application/x-gzip', 'application/x-tar+gzip', 'application/octet-stream'];

const CodeArchiveParams = Type.Object({
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'sha256 of the archive, 64 lowercase hex digits.' }),
});

const CodeArchive = Type.Object({
  sha256: Type.String(),
  size: Type.Integer({ description: 'Bytes of the stored (compressed) archive.' }),
});

/**
 * Content-addressed code upload: `PUT /api/v1/code/{sha256}` with a tar.gz body, then an experiment with
 * `code: {syncMode: "upload", url: "<sha256>"}`. The archive streams to disk (never buffered) and is refused
 * when larger than the store's limit (413), when it holds more than ArchiveLimits.maxEntries entries (413, default 50,000), when it does not hash to the URL's digest (400), or when an entry
 * would land outside the work dir (400, naming the entry).
 */
export function codeRoutes(store: CodeStore): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Scoped to this plugin: elsewhere these media types stay unsupported.
    app.addContentTypeParser(ARCHIVE_TYPES, (request, payload, done) => {
      const declared = Number(request.headers['content-length']);
      if (declared > store.maxBytes) {
        return done(new PeriscopeError('PAYLOAD_TOO_LARGE', `Code archive is larger than the ${store.maxBytes}-byte limit.`), undefined);
      }
      done(null, payload);
    });
    // Anything else (no Content-Type, multipart, …) gets a message that says what to send.
    app.addContentTypeParser('*', (_request, _payload, done) => done(unsupportedMediaType(), undefined));
    // The rest of an oversize body is not worth reading: answer, then close the connection.
    app.addHook('onError', async (_request, reply, error) => {
      if (error instanceof PeriscopeError && error.code === 'PAYLOAD_TOO_LARGE') reply.header('connection', 'close');
    });

    app.put(
      '/api/v1/code/:sha256',
      {
        bodyLimit: store.maxBytes,
        schema: {
          tags,
          summary: 'Upload a code archive (tar.gz) under its sha256',
          description: `The raw archive is the body, with Content-Type ${ARCHIVE_TYPES.join(', ')}.`,
          consumes: ARCHIVE_TYPES,
          params: CodeArchiveParams,
          response: { 200: Envelope(CodeArchive), 400: ErrorEnvelope, 413: ErrorEnvelope, 415: ErrorEnvelope },
        },
      },
      async (request) => {
        const body: unknown = request.body;
        if (!(body instanceof Readable)) throw unsupportedMediaType();
        return ok(await store.put(request.params.sha256, body));
      },
    );

    app.get(
      '/api/v1/code/:sha256',
      { schema: { tags, summary: 'Whether a code archive is stored, and its size', params: CodeArchiveParams, response: { 200: Envelope(CodeArchive), 404: ErrorEnvelope } } },
      async (request) => {
        const stored = await store.stat(request.params.sha256);
        if (stored === undefined) throw new NotFoundError(`Code archive ${request.params.sha256} was not uploaded.`);
        return ok(stored);
      },
    );
  };
}

function unsupportedMediaType(): PeriscopeError {
  return new PeriscopeError('UNSUPPORTED_MEDIA_TYPE', `Send the archive as the raw body with Content-Type ${ARCHIVE_TYPES.join(', ')}.`);
}
