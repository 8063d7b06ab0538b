import { Envelope, PeriscopeError } from '@periscope/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ok } from '../http/envelope.js';

export interface HealthInfo {
  version: string;
  database: 'sqlite' | 'postgres';
  startedAt: number;
  ping(): Promise<void>;
}

export function healthRoutes(info: HealthInfo): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/v1/health',
      {
        schema: {
          tags: ['health'],
          summary: 'Liveness and database reachability',
          response: {
            200: Envelope(Type.Object({ status: Type.String(), version: Type.String(), database: Type.String(), uptimeSeconds: Type.Number() })),
          },
        },
      },
      async () => {
        try {
          await info.ping();
        } catch {
          throw new PeriscopeError('SERVICE_UNAVAILABLE', `The ${info.database} database is not reachable.`);
        }
        return ok({ status: 'healthy', version: info.version, database: info.database, uptimeSeconds: Math.round((Date.now() - info.startedAt) / 1000) });
      },
    );
  };
}
