import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** OpenAPI from the route schemas (the same TypeBox schemas that validate), served at /api/docs. */
export async function installOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Periscope API',
        version,
        description:
          'Submarine-compatible experiment API and the Periscope extensions. Every response is wrapped in the envelope `{status, code, success, message, result, attributes}`. ' +
          'Every route but health and login needs `Authorization: Bearer <token>` (POST /api/v1/auth/login), unless the server runs with --auth none.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A token from POST /api/v1/auth/login, or an executor\'s PERISCOPE_TOKEN.' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
}
