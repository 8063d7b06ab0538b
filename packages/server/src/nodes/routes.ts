import { Envelope, ErrorEnvelope, PeriscopeError, ValidationError } from '@periscope/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Execution } from '../execution/execution.js';
import { ok } from '../http/envelope.js';

const Node = Type.Object({
  name: Type.String(),
  architecture: Type.String(),
  cpus: Type.Number(),
  memoryMb: Type.Integer(),
  gpus: Type.Array(Type.Object({ index: Type.Integer(), name: Type.String(), memoryMb: Type.Integer(), uuid: Type.String() })),
  labels: Type.Record(Type.String(), Type.String()),
  state: Type.String(),
  allocations: Type.Object({ cpu: Type.Number(), memoryMb: Type.Integer(), gpus: Type.Array(Type.Integer()), runningTrials: Type.Integer(), queuedTrials: Type.Integer() }),
});

/** The nodes executors can run on, with what is allocated now; `?label=key=value` filters by property. */
export function nodeRoutes(execution: Execution): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/v1/nodes',
      {
        schema: {
          tags: ['nodes'],
          summary: 'Nodes with capacity, labels, state and current allocations',
          querystring: Type.Object({ label: Type.Optional(Type.String({ maxLength: 256, description: 'key=value; only nodes whose label matches' })) }),
          response: { 200: Envelope(Type.Array(Node)), 400: ErrorEnvelope, 503: ErrorEnvelope },
        },
      },
      async (request) => {
        let filter: [string, string] | undefined;
        if (request.query.label !== undefined) {
          const [key, ...rest] = request.query.label.split('=');
          if (!key || rest.length === 0) throw new ValidationError(`label: "${request.query.label}" must be key=value`, 'label');
          filter = [key, rest.join('=')];
        }
        const usage = execution.scheduler.usage();
        let listed;
        try {
          listed = await execution.launcher.nodes();
        } catch (error) {
          throw new PeriscopeError('SERVICE_UNAVAILABLE', `The ${execution.launcher.kind} launcher cannot list its nodes: ${(error as Error).message}`);
        }
        const nodes = listed.map(({ allocated, ...node }) => ({
          ...node,
          state: node.state ?? 'READY',
          allocations: { ...(allocated ?? { cpu: usage.cpu, memoryMb: usage.memoryMb, gpus: usage.gpus }), runningTrials: usage.placed, queuedTrials: usage.queued },
        }));
        return ok(filter ? nodes.filter((n) => (n.labels as Record<string, string>)[filter[0]] === filter[1]) : nodes);
      },
    );
  };
}
