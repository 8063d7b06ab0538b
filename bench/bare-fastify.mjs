// The API benchmarks' baseline: a bare Fastify 5 route answering a constant envelope, in its own process (as
// the server is), with nothing else registered. Prints `listening on http://HOST:PORT` like the server.
import Fastify from 'fastify';

const body = JSON.stringify({ status: 'OK', code: 200, success: true, message: null, result: 'Pong', attributes: {} });
const app = Fastify({ logger: false });
app.get('/', async (_request, reply) => reply.type('application/json; charset=utf-8').send(body));
// The runner may be gone (interrupted) by the time this prints.
process.stdout.on('error', () => {});
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening on http://127.0.0.1:${app.server.address().port} (bare fastify)\n`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
