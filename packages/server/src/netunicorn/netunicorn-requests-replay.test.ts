/**
 * Contract test of the netunicorn face: replays, in order, every request netunicorn's RemoteClient (0.4.0) sent
 * (testing/netunicorn-requests.jsonl, a copy of shared/reference/peer-wire's) against a real server over HTTP
 * on each database: the form login, Bearer calls with the client's auth-context header, prepare twice, start,
 * status until FINISHED, flags, a long experiment whose first executor is canceled alone, then all of it.
 *
 * What is substituted: the recorded password was elided, and so were the graphs, so each deployment sends opaque bytes of our own (with
 * a NUL and random non-UTF-8 bytes in them); the recorded nodes become this server's node; the recorded
 * executor ids become this run's; the environment gets PYTHONPATH to testing/python. The executor's own
 * requests in the recording (graph, heartbeats, final reports) are not replayed: the real netunicorn-executor
 * cannot be installed without PyPI, so a stand-in written from the recorded protocol
 * (testing/python/netunicorn/executor) runs as `python3 -m netunicorn.executor` on the node and makes them,
 * and its effects are checked (the client gets back exactly the bytes it reported; its flag increments land).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { App } from '../app.js';
import { call, testApp } from '../testing/app.js';
import { DATABASES, eventually } from '../testing/databases.js';

interface Recorded {
  call: string;
  method: string;
  path: string;
  query: Record<string, string[]>;
  auth: string | null;
  content_type: string | null;
  auth_context: string | null;
  body: any;
}

const here = (name: string) => new URL(`./testing/${name}`, import.meta.url);
const RECORDED: Recorded[] = readFileSync(here('netunicorn-requests.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Recorded);
const PYTHONPATH = fileURLToPath(here('python'));

let python = true;
try {
  execFileSync('python3', ['--version']);
} catch {
  python = false;
}

/** Opaque graph bytes as the client would pickle them: random bytes, a NUL, and the stand-in's directives. */
function graph(directives: object): Buffer {
  return Buffer.concat([randomBytes(2700), Buffer.from([0xff, 0xfe, 0x00]), Buffer.from('\0'), Buffer.from(JSON.stringify(directives))]);
}

interface Server {
  app: App;
  base: string;
}

async function serve(database: string): Promise<Server> {
  const app = await testApp(database, { capacity: { cpus: 8, memoryMb: 16_384, gpus: [] }, graceMs: 500 });
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.http.server.address() as { port: number }).port}`;
  // Executors reach the gateway through the API's URL (PERISCOPE_API).
  app.execution.setApiUrl(base);
  await app.users.create({ username: 'alice', password: 'alice-password', admin: false });
  return { app, base };
}

interface Sent {
  status: number;
  body: any;
}

async function send(server: Server, r: { method: string; path: string; content_type: string | null; auth_context: string | null; body: unknown }, authorization?: string): Promise<Sent> {
  const headers: Record<string, string> = {};
  if (authorization) headers.authorization = authorization;
  if (r.content_type) headers['content-type'] = r.content_type;
  if (r.auth_context !== null) headers['netunicorn-authentication-context'] = r.auth_context;
  let body: string | undefined;
  if (r.body !== null && r.body !== undefined) body = r.content_type === 'application/x-www-form-urlencoded' ? new URLSearchParams(r.body as Record<string, string>).toString() : JSON.stringify(r.body);
  const answer = await fetch(server.base + r.path, { method: r.method, headers, ...(body !== undefined && { body }) });
  const text = await answer.text();
  return { status: answer.status, body: text ? JSON.parse(text) : undefined };
}

for (const database of DATABASES) {
  describe(`the netunicorn face on ${database.name}`, { skip: database.skip ?? (!python && 'python3 is not installed') }, () => {
    it('answers every recorded RemoteClient request as netunicorn does, and the pipelines run and report on our node', async () => {
      const server = await serve(await database.fresh());
      try {
        let token = '';
        let node = '';
        const graphs = new Map<string, Buffer[]>();
        const executorIds: Record<string, string> = {};
        const seen = new Set<string>();
        const authorization = () => `Bearer ${token}`;
        const statusOf = async (name: string) => (await send(server, { method: 'GET', path: `/netunicorn/api/v1/experiment/${name}`, content_type: null, auth_context: '{}', body: null }, authorization())).body;
        const until = (name: string, what: string, check: (info: any) => boolean) => eventually(`${name} to be ${what}`, async () => {
          const info = await statusOf(name);
          return check(info) && info;
        });

        for (const r of RECORDED) {
          const where = `${r.call}: ${r.method} ${r.path}`;
          // The executor's side: made by the stand-in executor the server launched (see above).
          if (r.path.startsWith('/netunicorn/api/v1/executor/')) continue;
          // Before every call the client checks its token.
          if (r.path.endsWith('/verify_token')) {
            const checked = await send(server, r, authorization());
            assert.equal(checked.status, 200, `${where}: ${checked.status}`);
            continue;
          }
          const name = /\/experiment\/([^/]+)/.exec(r.path)?.[1];
          let body = r.body;
          if (r.body?.deployment_map) {
            const sent = r.body.deployment_map.map(() => graph(name === 'long' ? { sleep: 600 } : { increment: 'done' }));
            // The retry sends the very same request, as the client re-serializes the same objects.
            if (!graphs.has(name!)) graphs.set(name!, sent);
            body = {
              ...r.body,
              deployment_map: r.body.deployment_map.map((d: any, i: number) => ({
                ...d,
                node: { ...d.node, name: node },
                execution_graph: graphs.get(name!)![i]!.toString('base64'),
                environment_definition: { ...d.environment_definition, runtime_context: { ...d.environment_definition.runtime_context, environment_variables: { PYTHONPATH } } },
              })),
            };
          }
          if (r.body?.password === '***') body = { ...r.body, password: 'alice-password' };
          if (r.body?.executors) body = { ...r.body, executors: [executorIds.long] };
          const first = !seen.has(r.call);
          seen.add(r.call);

          if (r.call === 'get_experiment_status (READY)' || r.call === 'get_experiment_status (long READY)') {
            const info = await until(name!, 'READY', (i) => i.status === 2);
            assert.equal(info.execution_result, null, `${where}: nothing ran yet`);
            for (const d of info.experiment.deployment_map) {
              assert.equal(d.prepared, true, where);
              assert.match(d.executor_id, /-d\d+-0$/, where);
            }
            continue;
          }
          if (r.call === 'get_experiment_status (FINISHED)' && first) {
            await until(name!, 'FINISHED', (i) => i.status === 4);
            // Each of its two executors incremented this flag through its gateway.
            const done = await send(server, { method: 'GET', path: `/netunicorn/api/v1/experiment/${name}/flag/done`, content_type: null, auth_context: null, body: null }, authorization());
            assert.deepEqual(done.body, { text_value: null, int_value: 2 }, `${where}: the executors' flag increments`);
          }
          if (r.call === 'executor ids') {
            const info = await until(name!, 'RUNNING with both executors started', (i) => i.status === 3 && Array.isArray(i.execution_result));
            executorIds.long = info.experiment.deployment_map[0].executor_id;
            continue;
          }
          if (r.call === 'get_experiment_status (after cancel)') {
            const info = await until(name!, 'FINISHED after its cancel', (i) => i.status === 4);
            for (const result of info.execution_result) assert.match(result.error, /^executor exited \(.+\) without reporting/, where);
            continue;
          }

          const answer = await send(server, { ...r, body }, r.auth ? authorization() : undefined);
          assert.equal(answer.status, 200, `${where}: ${answer.status} ${JSON.stringify(answer.body)}`);

          switch (r.call) {
            case 'healthcheck':
              if (r.path.endsWith('/token')) {
                assert.equal(answer.body.token_type, 'bearer', where);
                token = answer.body.access_token;
              }
              break;
            case 'get_nodes': {
              assert.equal(answer.body.node_pool_type, 'CountableNodePool', where);
              const listed = answer.body.node_pool_data[0];
              assert.deepEqual(listed.properties['netunicorn-environments'], ['ShellExecution'], where);
              assert.match(listed.architecture, /^linux\//, where);
              node = listed.name;
              break;
            }
            case 'prepare_experiment':
            case 'prepare_experiment (retry, same name)':
            case 'prepare_experiment (long)':
              assert.equal(answer.body, name, `${where}: answers the name as a JSON string`);
              break;
            case 'start_execution':
            case 'start_execution (long)':
              assert.equal(answer.body, name, where);
              break;
            case 'get_experiment_status (FINISHED)': {
              assert.equal(answer.body.status, 4, where);
              const results = answer.body.execution_result;
              assert.equal(results.length, 2, where);
              results.forEach((result: any, i: number) => {
                const sent = graphs.get(name!)![i]!;
                assert.equal(result.node.name, node, where);
                assert.equal(result.execution_graph, sent.toString('base64'), `${where}: the graph comes back as sent`);
                assert.equal(result.error, null, where);
                assert.deepEqual(Buffer.from(result.result, 'base64'), Buffer.from(sent).reverse(), `${where}: the executor's final report, byte for byte`);
              });
              break;
            }
            case 'get_flag_values':
              assert.deepEqual(answer.body, { text_value: 'now', int_value: 3 }, where);
              break;
            case 'get_experiments':
              assert.deepEqual(Object.keys(answer.body), ['demo'], where);
              assert.equal(answer.body.demo.status, 4, where);
              break;
            case 'cancel_executors (first executor)': {
              const info = await until('long', 'missing only its first executor', (i) => i.execution_result?.[0]?.error !== null && i.execution_result?.[0]?.error !== undefined);
              assert.match(info.execution_result[0].error, /^executor exited \(.+\) without reporting/, where);
              assert.equal(info.status, 3, `${where}: the other executor runs on`);
              assert.equal(info.execution_result[1].error, null, where);
              break;
            }
            case 'cancel_experiment':
            case 'delete_experiment':
              assert.equal(answer.body, name, where);
              break;
          }
        }
        const done = await send(server, { method: 'GET', path: '/netunicorn/api/v1/experiment/long/flag/done', content_type: null, auth_context: null, body: null }, authorization());
        assert.deepEqual(done.body, { text_value: null, int_value: null }, "long's flags are its own");
        assert.equal((await statusOf('demo')).status, 'NOT_FOUND', 'deleted: its name is free');
        const own = await call(server.app, 'GET', '/api/v1/executions', undefined, { authorization: authorization() });
        assert.deepEqual(Object.keys(own.body.result), ['long']);
      } finally {
        await server.app.close();
      }
    });
  });
}
