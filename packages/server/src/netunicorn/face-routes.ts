/**
 * The netunicorn face: the mediator routes netunicorn's RemoteClient (0.4) calls and the gateway routes its
 * executor calls, under `/netunicorn`, so `RemoteClient("http://host:32080/netunicorn", user, password)` works
 * unchanged. Built on the executions service (one store: an execution prepared here is the same experiment
 * `/api/v1/executions/{name}` shows); wire.ts translates. The contract is shared/reference/peer-wire
 * (README.md, netunicorn-requests.jsonl).
 *
 * What differs from Periscope's own API, on purpose: answers are netunicorn's plain JSON (a bare JSON string
 * for prepare, start and cancel; errors keep our envelope, whose body the client only prints); login is an
 * OAuth2 password form; executors have no user, so their gateway URL carries the trial's task token as a
 * path segment, checked like any token (constant time), and it reaches only that trial's executors and its
 * experiment's flags. Graphs and results are base64 of cloudpickle bytes, stored and relayed, never decoded.
 */
import { ForbiddenError, NotFoundError } from '@periscope/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import Type from 'typebox';
import type { Execution } from '../execution/execution.js';
import type { ExperimentStore, ExperimentRecord } from '../experiments/store.js';
import type { AuthMode } from '../http/auth.js';
import type { FlagService } from '../flags/service.js';
import type { ExecutorRecord, TrialStore } from '../trials/store.js';
import type { Principal, UserService } from '../users/service.js';
import type { NetunicornBlobStore } from './blob-store.js';
import { digestOf, type ExecutionService } from './service.js';
import * as wire from './wire.js';

export interface NetunicornFaceDeps {
  executions: ExecutionService;
  experimentStore: ExperimentStore;
  trials: TrialStore;
  blobs: NetunicornBlobStore;
  flags: FlagService;
  users: UserService;
  execution: Pick<Execution, 'launcher'>;
  authMode: AuthMode;
}

const tags = ['netunicorn'];
const Json = Type.Unknown({ description: 'netunicorn wire shapes (see shared/reference/peer-wire).' });
const answers = { 200: Json };
const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128, description: 'The experiment (execution) name, per user.' }) });
const FlagParams = Type.Object({ name: NameParams.properties.name, flag: Type.String({ minLength: 1, maxLength: 128 }) });
const Secret = Type.String({ minLength: 1, maxLength: 128, description: "The executor's gateway secret (its trial's task token)." });
const GatewayQuery = Type.Object({ executor_id: Type.String({ minLength: 1, maxLength: 256 }) });
const GatewayFlagParams = Type.Object({ secret: Secret, id: Type.String({ minLength: 1, maxLength: 128 }), flag: Type.String({ minLength: 1, maxLength: 128 }) });
const LoginForm = Type.Object({ username: Type.String({ minLength: 1, maxLength: 128 }), password: Type.String({ maxLength: 1024 }) }, { additionalProperties: true });
/** A start's or cancel's execution context: accepted, and not used (Periscope's launchers take no per-run context). */
const Context = Type.Optional(Type.Union([Type.Null(), Type.Record(Type.String(), Type.Unknown())]));

export function netunicornRoutes(deps: NetunicornFaceDeps): FastifyPluginAsyncTypebox {
  const { executions, experimentStore, trials, blobs, flags, users } = deps;

  async function informationOf(record: ExperimentRecord): Promise<Record<string, unknown>> {
    const [request, executors, reports] = await Promise.all([blobs.request(record.id), trials.executorsOfExperiment(record.id), blobs.reports(record.id)]);
    return wire.executionInformation({ record, request: request as wire.PrepareBody | undefined, executors, reports });
  }

  return async (app) => {
    // OAuth2's password form, only here (the plugin's own scope).
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });

    app.post('/netunicorn/api/v1/token', { schema: { tags, summary: 'Log in with an OAuth2 password form; answers a bearer token', body: LoginForm, response: answers } }, async (request) => {
      // With auth off everyone acts as the first admin, so any login gets a token of theirs.
      const { token } = deps.authMode === 'none' ? await users.firstAdminLogin() : await users.login(request.body.username, request.body.password, request.ip);
      return { access_token: token, token_type: 'bearer' };
    });
    app.get('/netunicorn/api/v1/verify_token', { schema: { tags, summary: 'Whether the token is good (200) or not (401)', response: answers } }, async (request) => ({ username: request.principal!.username }));
    app.get('/netunicorn/api/v1/health', { schema: { tags, summary: 'Alive', response: answers } }, async () => ({ status: 'ok' }));
    app.get('/netunicorn/api/v1/nodes', { schema: { tags, summary: 'The nodes, as a CountableNodePool that runs ShellExecution environments', response: answers } }, async () => ({
      node_pool_type: 'CountableNodePool',
      node_pool_data: (await deps.execution.launcher.nodes()).map(wire.wireNode),
      node_pool_metadata: null,
    }));

    app.get('/netunicorn/api/v1/experiment', { schema: { tags, summary: "The caller's experiments: name → ExperimentExecutionInformation", response: answers } }, async (request) => {
      const records = (await experimentStore.executions(request.principal!.username)).filter((r) => r.status !== 'Deleted');
      const infos = await Promise.all(records.map(informationOf));
      return Object.fromEntries(records.map((r, i) => [r.executionName!, infos[i]]));
    });
    app.get('/netunicorn/api/v1/experiment/:name', { schema: { tags, summary: 'Status (0-4), the experiment, and per-deployment results once it ran', params: NameParams, response: answers } }, async (request) =>
      informationOf(await executions.require(request.principal!, request.params.name)),
    );
    app.post(
      '/netunicorn/api/v1/experiment/:name/prepare',
      {
        bodyLimit: wire.MAX_PREPARE_BYTES,
        schema: { tags, summary: 'Prepare an experiment under a name (idempotent: the same request again answers the same experiment)', params: NameParams, body: wire.PrepareBody, response: answers },
      },
      async (request, reply) => {
        const { name } = request.params;
        const spec = wire.specOf(name, request.body, await deps.execution.launcher.nodes());
        await executions.prepareRecord(request.principal!, name, spec, { digest: digestOf(request.body), alongside: (tx, id) => blobs.putRequest(tx, id, request.body) });
        return jsonString(reply, name);
      },
    );
    app.post('/netunicorn/api/v1/experiment/:name/start', { schema: { tags, summary: 'Start a prepared experiment (a retry never launches twice)', params: NameParams, body: Context, response: answers } }, async (request, reply) => {
      await executions.start(request.principal!, request.params.name);
      return jsonString(reply, request.params.name);
    });
    app.post('/netunicorn/api/v1/experiment/:name/cancel', { schema: { tags, summary: 'Cancel every executor of the experiment', params: NameParams, body: Context, response: answers } }, async (request, reply) => {
      await executions.cancel(request.principal!, request.params.name);
      return jsonString(reply, request.params.name);
    });
    app.delete('/netunicorn/api/v1/experiment/:name', { schema: { tags, summary: 'Delete an experiment that is not preparing or running; frees its name', params: NameParams, response: answers } }, async (request, reply) => {
      await executions.delete(request.principal!, request.params.name);
      return jsonString(reply, request.params.name);
    });
    app.post(
      '/netunicorn/api/v1/executors/cancel',
      {
        schema: {
          tags,
          summary: 'Stop the given executors; the rest of their experiments run on',
          body: Type.Object({ executors: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems: 1000 }), cancellation_context: Context }),
          response: answers,
        },
      },
      async (request, reply) => {
        const { canceled, alreadyEnded } = await executions.cancelExecutors(request.principal!, request.body.executors);
        return jsonString(reply, `canceled ${canceled.length}, already ended ${alreadyEnded.length}`);
      },
    );
    app.get('/netunicorn/api/v1/experiment/:name/flag/:flag', { schema: { tags, summary: "A flag's values", params: FlagParams, response: answers } }, async (request) => {
      const record = await executions.require(request.principal!, request.params.name);
      return wire.flagValues(await flags.get(record.id, request.params.flag));
    });
    app.post('/netunicorn/api/v1/experiment/:name/flag/:flag', { schema: { tags, summary: "Set a flag's values", params: FlagParams, body: wire.FlagValues, response: answers } }, async (request) => {
      const record = await executions.require(request.principal!, request.params.name);
      return wire.flagValues(await flags.set(record.id, request.params.flag, wire.flagChange(request.body)));
    });

    // The executors' gateway: the secret is checked before anything else is read.
    const gateway = '/netunicorn/gateway/:secret/api/v1';
    async function caller(secret: string): Promise<NonNullable<Principal['task']>> {
      const principal = await users.authenticate(`Bearer ${secret}`);
      if (!principal.task) throw new ForbiddenError("This gateway URL is not an executor's: its secret is a user's token.");
      return principal.task;
    }
    /** The executor named, if it belongs to the trial whose task token the gateway's secret is. */
    async function executorBehind(secret: string, executorId: string): Promise<ExecutorRecord> {
      const task = await caller(secret);
      const executor = await trials.executor(executorId);
      if (!executor || executor.trialId !== task.trialId) throw new NotFoundError(`Not found executor ${executorId} behind this gateway.`);
      return executor;
    }
    async function graphOf(secret: string, executorId: string): Promise<string> {
      const executor = await executorBehind(secret, executorId);
      const request = (await blobs.request(executor.experimentId)) as wire.PrepareBody | undefined;
      const deployment = request && wire.deploymentOf(request, executor.role);
      if (!deployment) throw new NotFoundError(`Executor ${executorId} has no netunicorn execution graph (it was not prepared through /netunicorn).`);
      return deployment.execution_graph;
    }
    const GraphSchema = { tags, params: Type.Object({ secret: Secret }), querystring: GatewayQuery, response: answers };
    app.get(`${gateway}/executor/execution_graph`, { schema: { ...GraphSchema, summary: "The executor's execution graph (base64 of its pickle, as prepared)" } }, async (request, reply) =>
      jsonString(reply, await graphOf(request.params.secret, request.query.executor_id)),
    );
    app.get(`${gateway}/executor/pipeline`, { schema: { ...GraphSchema, summary: 'The execution graph, by its legacy name' } }, async (request, reply) =>
      jsonString(reply, await graphOf(request.params.secret, request.query.executor_id)),
    );
    const report = async (secret: string, body: { executor_id: string; results: string | null; state?: number }): Promise<Record<string, never>> => {
      const executor = await executorBehind(secret, body.executor_id);
      if (body.results !== null) await blobs.putReport(executor.experimentId, executor.name, { results: body.results, state: body.state ?? 0 });
      return {};
    };
    const ReportSchema = { tags, params: Type.Object({ secret: Secret }), body: wire.ReportBody, response: answers };
    // The executor posts heartbeats to `result/` and its final report to `result`: one route (the server ignores
    // trailing slashes), which keeps the latest.
    app.post(`${gateway}/executor/result`, { bodyLimit: wire.MAX_REPORT_BYTES, schema: { ...ReportSchema, summary: "An executor's results so far (state 1, sent to result/) or final (state 2)" } }, async (request) =>
      report(request.params.secret, request.body),
    );
    async function experimentOf(secret: string, id: string): Promise<string> {
      const task = await caller(secret);
      if (id !== task.experimentId) throw new ForbiddenError(`This gateway belongs to experiment ${task.experimentId}, not ${id}.`);
      return id;
    }
    const flagPath = `${gateway}/experiment/:id/flag/:flag`;
    app.get(flagPath, { schema: { tags, summary: "A flag's values", params: GatewayFlagParams, response: answers } }, async (request) =>
      wire.flagValues(await flags.get(await experimentOf(request.params.secret, request.params.id), request.params.flag)),
    );
    app.post(flagPath, { schema: { tags, summary: "Set a flag's values", params: GatewayFlagParams, body: wire.FlagValues, response: answers } }, async (request) =>
      wire.flagValues(await flags.set(await experimentOf(request.params.secret, request.params.id), request.params.flag, wire.flagChange(request.body))),
    );
    for (const [step, by] of [['increment', 1], ['decrement', -1]] as const) {
      app.post(`${flagPath}/${step}`, { schema: { tags, summary: `${step[0]!.toUpperCase()}${step.slice(1)} a flag's int value by one`, params: GatewayFlagParams, response: answers } }, async (request) =>
        wire.flagValues(await flags.increment(await experimentOf(request.params.secret, request.params.id), request.params.flag, by)),
      );
    }
  };
}

/** netunicorn answers several calls with a bare JSON string (Fastify would send a string as text). */
function jsonString(reply: FastifyReply, value: string): FastifyReply {
  return reply.type('application/json').send(JSON.stringify(value));
}
