import sseModule, { type SSEPluginOptions } from '@fastify/sse';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';

// The package is CommonJS whose module.exports is the plugin, but its types declare an ES default export:
// imported from ESM, the default is module.exports itself.
const fastifySSE = sseModule as unknown as FastifyPluginAsync<SSEPluginOptions>;

/** How often an event stream with nothing to send gets a comment, so proxies do not close it as idle. */
export const DEFAULT_HEARTBEAT_MS = 15_000;

/** Server-Sent Events for the routes marked `sse: true` (a trial's followed logs). */
export async function registerEventStreams(http: FastifyInstance, heartbeatMs = DEFAULT_HEARTBEAT_MS): Promise<void> {
  await http.register(fastifySSE, { heartbeatInterval: heartbeatMs });
}
