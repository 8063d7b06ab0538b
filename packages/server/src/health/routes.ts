import { Envelope, PeriscopeError } from '@periscope/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ok } from '../http/envelope.js';

export interface HealthInfo {
  version: string;
  database: 'sqlite' | 'postgres';
  startedAt: number;
  /** What is wrong with the store in a sentence, null when it serves reads and writes (health/checks.ts). */
  store(): Promise<string | null>;
  /** Throws a PeriscopeError (503) naming what is wrong when the launcher cannot run anything. */
  launcher(): Promise<{ kind: string; nodes: number; runningTrials: number; queuedTrials: number; controller?: string }>;
}

export function healthRoutes(info: HealthInfo): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/v1/health',
      {
        schema: {
          tags: ['health'],
          summary: 'Health: the store has its schema and takes writes, and the launcher has nodes (503 naming what is wrong otherwise)',
          response: {
            200: Envelope(
              Type.Object({
                status: Type.String(),
                version: Type.String(),
                database: Type.String(),
                launcher: Type.Object({
                  kind: Type.String(),
                  nodes: Type.Integer(),
                  runningTrials: Type.Integer(),
                  queuedTrials: Type.Integer(),
                  controller: Type.Optional(Type.String({ description: "A cluster engine's controller as it answered (Slurm: scontrol ping)." })),
                }),
                uptimeSeconds: Type.Number(),
              }),
            ),
          },
        },
      },
      async () => {
        let problem: string | null;
        try {
          problem = await info.store();
        } catch (error) {
          problem = `The ${info.database} database is not reachable: ${(error as Error).message}`;
        }
        if (problem) throw new PeriscopeError('SERVICE_UNAVAILABLE', problem);
        const launcher = await info.launcher();
        if (launcher.nodes === 0) throw new PeriscopeError('SERVICE_UNAVAILABLE', `The ${launcher.kind} launcher has no node to run on.`);
        return ok({ status: 'healthy', version: info.version, database: info.database, launcher, uptimeSeconds: Math.round((Date.now() - info.startedAt) / 1000) });
      },
    );
  };
}
