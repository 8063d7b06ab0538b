import { Envelope, PeriscopeError } from '@periscope/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ok } from '../http/envelope.js';

export interface HealthInfo {
  version: string;
  database: 'sqlite' | 'postgres';
  startedAt: number;
  ping(): Promise<void>;
  launcher(): Promise<{ kind: string; nodes: number; runningTrials: number; queuedTrials: number }>;
}

export function healthRoutes(info: HealthInfo): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/v1/health',
      {
        schema: {
          tags: ['health'],
          summary: 'Liveness: the store answers and the launcher has nodes (503 otherwise)',
          response: {
            200: Envelope(
              Type.Object({
                status: Type.String(),
                version: Type.String(),
                database: Type.String(),
                launcher: Type.Object({ kind: Type.String(), nodes: Type.Integer(), runningTrials: Type.Integer(), queuedTrials: Type.Integer() }),
                uptimeSeconds: Type.Number(),
              }),
            ),
          },
        },
      },
      async () => {
        try {
          await info.ping();
        } catch {
          throw new PeriscopeError('SERVICE_UNAVAILABLE', `The ${info.database} database is not reachable.`);
        }
        const launcher = await info.launcher();
        if (launcher.nodes === 0) throw new PeriscopeError('SERVICE_UNAVAILABLE', `The ${launcher.kind} launcher has no node to run on.`);
        return ok({ status: 'healthy', version: info.version, database: info.database, launcher, uptimeSeconds: Math.round((Date.now() - info.startedAt) / 1000) });
      },
    );
  };
}
