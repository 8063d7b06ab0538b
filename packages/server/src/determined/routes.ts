/**
 * The Determined face: the REST routes the real Determined Python SDK (0.38) calls, under `/determined`, so
 * `DET_MASTER=http://host:32080/determined` points unchanged scripts at Periscope. Every route reuses our
 * services (one store); this module only translates, in wire.ts's shapes. The contract is
 * shared/reference/peer-wire (README.md, determined-sdk-requests.jsonl, determined-required-fields.json).
 *
 * What differs from Periscope's own API, on purpose: answers are plain JSON objects (no envelope; errors keep
 * the envelope, whose `message` the SDK reads); JSON bodies come without a Content-Type, and one DELETE has a
 * body; experiment ids are integers (the experiment's seq, never reused).
 */
import { ForbiddenError, NotFoundError, RowId, UnauthorizedError, Uuid, ValidationError, type Checkpoint, type ExperimentSpec, type LogLine, type Trial } from '@periscope/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { create as createTar } from 'tar';
import Type, { type Static } from 'typebox';
import { orderCheckpoints, type TrainingService } from '../checkpoints/service.js';
import type { CodeStore } from '../code/code-store.js';
import type { DataLayout } from '../logs/layout.js';
import type { ExperimentService } from '../experiments/service.js';
import type { ExperimentRecord, ExperimentStore } from '../experiments/store.js';
import { notFoundMessage, type AuthMode } from '../http/auth.js';
import type { ModelService } from '../models/service.js';
import type { TrialService } from '../trials/service.js';
import type { Owners } from '../users/owners.js';
import type { Principal, UserService } from '../users/service.js';
import type { DeterminedConfigStore } from './config-store.js';
import { MAX_MODEL_BYTES, storeModelDefinition } from './model-definition.js';
import * as wire from './wire.js';

export interface DeterminedFaceDeps {
  experiments: ExperimentService;
  experimentStore: ExperimentStore;
  configs: DeterminedConfigStore;
  trials: TrialService;
  training: TrainingService;
  models: ModelService;
  users: UserService;
  owners: Owners;
  code: CodeStore;
  layout: Pick<DataLayout, 'checkpointDir'>;
  version: string;
  authMode: AuthMode;
}

const tags = ['determined'];
const Json = Type.Record(Type.String(), Type.Unknown(), { description: 'Determined REST shapes (see shared/reference/peer-wire).' });
const answers = { 200: Json };
const ExperimentParams = Type.Object({ id: RowId({ description: "The experiment's integer id." }) });
const TrialParams = Type.Object({ id: RowId() });
const CheckpointParams = Type.Object({ uuid: Uuid() });
const ModelParams = Type.Object({ model: Type.String({ minLength: 1, maxLength: 256, description: 'Name or id.' }) });
const VersionParams = Type.Object({ model: Type.String({ minLength: 1, maxLength: 256 }), version: RowId() });
const Order = Type.Optional(Type.String({ maxLength: 32, description: 'ORDER_BY_ASC or ORDER_BY_DESC.' }));
const Paging = { offset: Type.Optional(Type.Integer({ minimum: 0 })), limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })), orderBy: Order };
const Metadata = Type.Record(Type.String(), Type.Unknown());

const LoginBody = Type.Object({ username: Type.String({ minLength: 1, maxLength: 128 }), password: Type.String({ maxLength: 1024 }), isHashed: Type.Optional(Type.Boolean()) });
const CreateExperimentBody = Type.Object({
  config: Type.String({ minLength: 1, maxLength: 1024 * 1024, description: 'The experiment config as YAML text.' }),
  modelDefinition: Type.Optional(Type.Union([Type.Null(), Type.Array(Type.Object({ path: Type.String({ maxLength: 4096 }), type: Type.Integer(), content: Type.String(), mode: Type.Optional(Type.Integer({ minimum: 0 })) }))])),
  activate: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
});
const TrialsQuery = Type.Object({ ...Paging, sortBy: Type.Optional(Type.String({ maxLength: 64 })) });
const CheckpointsQuery = Type.Object({
  ...Paging,
  sortByAttr: Type.Optional(Type.String({ maxLength: 64 })),
  sortByMetric: Type.Optional(Type.String({ maxLength: 256 })),
  states: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Array(Type.String({ maxLength: 64 }), { maxItems: 8 })])),
});
const LogsQuery = Type.Object({
  follow: Type.Optional(Type.Boolean()),
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
  orderBy: Order,
  levels: Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Array(Type.String({ maxLength: 32 }), { maxItems: 8 })])),
  rankIds: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 1024 })])),
  searchText: Type.Optional(Type.String({ maxLength: 1024 })),
  timestampBefore: Type.Optional(Type.String({ maxLength: 64 })),
  timestampAfter: Type.Optional(Type.String({ maxLength: 64 })),
});
const ModelsQuery = Type.Object({ ...Paging, sortBy: Type.Optional(Type.String({ maxLength: 64 })), name: Type.Optional(Type.String({ maxLength: 256 })), description: Type.Optional(Type.String({ maxLength: 256 })), archived: Type.Optional(Type.Boolean()) });
const CreateModelBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^/\\s][^/]*$' }),
  description: Type.Optional(Type.Union([Type.String({ maxLength: 65536 }), Type.Null()])),
  metadata: Type.Optional(Type.Union([Metadata, Type.Null()])),
  labels: Type.Optional(Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 256 }), Type.Null()])),
});
const PatchModelBody = Type.Object({
  metadata: Type.Optional(Metadata),
  labels: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 256 })),
  description: Type.Optional(Type.String({ maxLength: 65536 })),
});
const RegisterVersionBody = Type.Object({ checkpointUuid: Uuid(), name: Type.Optional(Type.String({ maxLength: 256 })), comment: Type.Optional(Type.String({ maxLength: 65536 })) });
const CheckpointMetadataBody = Type.Object({ checkpoint: Type.Object({ metadata: Metadata }) });
const DeleteCheckpointsBody = Type.Object({ checkpointUuids: Type.Array(Uuid(), { minItems: 1, maxItems: 1000 }) });

const descending = (orderBy: string | undefined) => orderBy === 'ORDER_BY_DESC';
const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

export function determinedRoutes(deps: DeterminedFaceDeps): FastifyPluginAsyncTypebox {
  const { experiments, experimentStore, configs, trials, training, models, users, owners } = deps;
  const userIds = new Map<string, number>();
  const userId = async (username: string | null): Promise<number> => {
    if (!username) return 0;
    let id = userIds.get(username);
    if (id === undefined) {
      id = await users.get(username).then((u) => u.id, () => 0);
      userIds.set(username, id);
    }
    return id;
  };

  const configOf = async (record: ExperimentRecord) => (await configs.get(record.id)) ?? wire.configOfSpec(record);

  /** The experiment by integer id, or the same 404 whether it is missing or another user's. */
  const experimentBySeq = async (seq: number): Promise<ExperimentRecord> => {
    const record = await experimentStore.bySeq(seq);
    if (!record || record.status === 'Deleted') throw new NotFoundError(notFoundMessage('determined-experiment', String(seq)));
    return record;
  };
  const experimentById = async (id: string): Promise<ExperimentRecord> => {
    const record = await experimentStore.get(id);
    if (!record) throw new NotFoundError(notFoundMessage('experiment', id));
    return record;
  };

  const presentExperiment = async (record: ExperimentRecord) => wire.experiment(record, await configOf(record), await trials.ofExperiment(record), await userId(record.owner));

  const presentCheckpoints = async (views: readonly Checkpoint[]) => {
    // Per answer: the checkpoints of one list share a few experiments and trials.
    const records = new Map<string, { record: ExperimentRecord; config: wire.DeterminedConfig }>();
    const trialNumbers = new Map<number, number>();
    const out = [];
    for (const view of views) {
      let known = records.get(view.experimentId);
      if (!known) {
        const record = await experimentById(view.experimentId);
        known = { record, config: await configOf(record) };
        records.set(view.experimentId, known);
      }
      let number = trialNumbers.get(view.trialId);
      if (number === undefined) {
        number = (await trials.get(view.trialId)).number;
        trialNumbers.set(view.trialId, number);
      }
      out.push(wire.checkpoint(view, known.record.seq, known.config, deps.layout.checkpointDir(known.record.id, number)));
    }
    return out;
  };

  /** Determined's checkpoint orders: by the searcher metric (best first), a named metric, or the step. */
  const sortCheckpoints = (views: Checkpoint[], config: wire.DeterminedConfig, query: Static<typeof CheckpointsQuery>): Checkpoint[] => {
    const searcher = (config.config.searcher ?? {}) as { metric?: string; smaller_is_better?: boolean };
    let metric: string | undefined;
    let desc = descending(query.orderBy);
    if (query.sortByMetric !== undefined) metric = query.sortByMetric;
    else if (query.sortByAttr === 'SORT_BY_SEARCHER_METRIC') {
      metric = searcher.metric;
      // Best first unless the caller reverses it.
      desc = (searcher.smaller_is_better === false) !== descending(query.orderBy);
    }
    const valueOf = (c: Checkpoint) => (metric === undefined ? (query.sortByAttr === 'SORT_BY_END_TIME' ? Date.parse(c.reportTime) : c.stepsCompleted) : c.training.validationMetrics?.[metric]);
    const stateFilter = list(query.states).map((s) => s.replace(/^STATE_/, ''));
    // Unscored checkpoints go last, whichever way the rest are sorted.
    return orderCheckpoints(views.filter((c) => stateFilter.length === 0 || stateFilter.includes(c.state)), valueOf, desc);
  };

  const presentModel = async (name: string) => {
    const view = await models.get(name);
    return wire.model(view, await userId(view.owner));
  };

  return async (app) => {
    // The SDK sends JSON with no Content-Type, and a DELETE with a body, which Fastify would leave unparsed:
    // on these routes a body without a type is JSON.
    app.addHook('onRequest', async (request) => {
      const hasBody = request.headers['content-length'] !== undefined && request.headers['content-length'] !== '0';
      if (!request.headers['content-type'] && (hasBody || request.headers['transfer-encoding'] !== undefined)) request.headers['content-type'] = 'application/json';
    });

    app.get('/determined/info', { schema: { tags, summary: 'Master info (what the det CLI checks)', response: answers } }, async () => ({
      version: deps.version,
      cluster_id: 'periscope',
      master_id: 'periscope',
      cluster_name: 'periscope',
      isEnterpriseEdition: false,
      branding: 'periscope',
    }));

    app.post('/determined/api/v1/auth/login', { schema: { tags, summary: 'Log in (isHashed: the SDK\'s sha512 pre-hash)', body: LoginBody, response: answers } }, async (request) => {
      const { username, password, isHashed } = request.body;
      try {
        // --auth none: any login is the first admin's, as every request is in that mode.
        const answer = deps.authMode === 'none' ? await users.firstAdminLogin() : await users.login(username, password, request.ip, { determinedPreHash: isHashed === true });
        return { token: answer.token, user: determinedUser(answer.user) };
      } catch (error) {
        // Determined answers a bad password 403 (its SDK raises Forbidden then), not 401.
        if (error instanceof UnauthorizedError) throw new ForbiddenError(error.message);
        throw error;
      }
    });
    app.post('/determined/api/v1/auth/logout', { schema: { tags, summary: 'Log out', response: answers } }, async (request) => {
      await users.logout(request.principal!);
      return {};
    });
    app.get('/determined/api/v1/me', { schema: { tags, summary: 'The caller', response: answers } }, async (request) => ({ user: determinedUser(await users.me(request.principal!)) }));

    app.post(
      '/determined/api/v1/experiments',
      { bodyLimit: Math.ceil((MAX_MODEL_BYTES * 4) / 3) + 2 * 1024 * 1024, schema: { tags, summary: 'Create an experiment from a Determined config and model definition', body: CreateExperimentBody, response: answers } },
      async (request) => {
        const { fromDeterminedConfig, parseYaml } = await import('@periscope/core/determined');
        // Parsed once: the conversion takes the object, and the parse is what the config echoes.
        const parsed = parseYaml(request.body.config) as Record<string, unknown>;
        const { spec, warnings } = fromDeterminedConfig(parsed);
        const sha256 = await storeModelDefinition(request.body.modelDefinition ?? [], deps.code);
        const input: ExperimentSpec = { ...spec, ...(sha256 && { code: { syncMode: 'upload', url: sha256 } }), ...(request.body.activate === false && { autoStart: false }) };
        const config = { original: request.body.config, config: parsed };
        const created = await experiments.create(input, request.principal!.username, (tx, id) => configs.put(tx, id, config));
        const record = await experimentById(created.experimentId);
        return { experiment: await presentExperiment(record), config: parsed, warnings };
      },
    );
    app.get('/determined/api/v1/experiments/:id', { schema: { tags, summary: 'An experiment', params: ExperimentParams, response: answers } }, async (request) => {
      const record = await experimentBySeq(request.params.id);
      return { experiment: await presentExperiment(record), config: (await configOf(record)).config };
    });
    app.delete('/determined/api/v1/experiments/:id', { schema: { tags, summary: 'Delete an experiment', params: ExperimentParams, response: answers } }, async (request) => {
      await experiments.delete((await experimentBySeq(request.params.id)).id);
      return {};
    });
    app.get('/determined/api/v1/experiments/:id/trials', { schema: { tags, summary: "An experiment's trials", params: ExperimentParams, querystring: TrialsQuery, response: answers } }, async (request) => {
      const record = await experimentBySeq(request.params.id);
      const key = (t: Trial): number =>
        request.query.sortBy === 'SORT_BY_START_TIME' ? Date.parse(t.startedTime ?? t.queuedTime ?? '') || 0 : request.query.sortBy === 'SORT_BY_END_TIME' ? Date.parse(t.finishedTime ?? '') || Infinity : t.id;
      const sorted = [...(await trials.ofExperiment(record))].sort((a, b) => (descending(request.query.orderBy) ? key(b) - key(a) : key(a) - key(b)));
      const { items, pagination } = wire.page(sorted, request.query.offset, request.query.limit);
      return { trials: items.map((t) => wire.trial(t, record.seq)), pagination };
    });
    app.get('/determined/api/v1/experiments/:id/checkpoints', { schema: { tags, summary: "An experiment's checkpoints", params: ExperimentParams, querystring: CheckpointsQuery, response: answers } }, async (request) => {
      const record = await experimentBySeq(request.params.id);
      const sorted = sortCheckpoints(await training.ofExperiment(record.id), await configOf(record), request.query);
      const { items, pagination } = wire.page(sorted, request.query.offset, request.query.limit);
      return { checkpoints: await presentCheckpoints(items), pagination };
    });

    app.get('/determined/api/v1/trials/:id', { schema: { tags, summary: 'A trial', params: TrialParams, response: answers } }, async (request) => {
      const view = await trials.get(request.params.id);
      return { trial: wire.trial(view, (await experimentById(view.experimentId)).seq) };
    });
    app.get('/determined/api/v1/trials/:id/checkpoints', { schema: { tags, summary: "A trial's checkpoints", params: TrialParams, querystring: CheckpointsQuery, response: answers } }, async (request) => {
      const view = await trials.get(request.params.id);
      const sorted = sortCheckpoints(await training.ofTrial(view.id), await configOf(await experimentById(view.experimentId)), request.query);
      const { items, pagination } = wire.page(sorted, request.query.offset, request.query.limit);
      return { checkpoints: await presentCheckpoints(items), pagination };
    });
    app.get(
      '/determined/api/v1/trials/:id/logs',
      { schema: { tags, summary: "A trial's log lines as NDJSON ({result: line} per line)", description: 'limit with ORDER_BY_DESC is a tail, newest first (as Determined answers it); with ORDER_BY_ASC a head; follow streams until the trial ends.', params: TrialParams, querystring: LogsQuery, response: { 200: Type.String({ description: 'application/x-ndjson' }) } } },
      async (request, reply) => {
        const id = request.params.id;
        const lines = await logLines(trials, id, request.query, abortedWith(request));
        reply.header('content-type', 'application/x-ndjson');
        return reply.send(Readable.from(ndjson(lines, id)) as unknown as string);
      },
    );

    app.get('/determined/api/v1/checkpoints/:uuid', { schema: { tags, summary: 'A checkpoint', params: CheckpointParams, response: answers } }, async (request) => ({
      checkpoint: (await presentCheckpoints([await training.checkpoint(request.params.uuid)]))[0],
    }));
    app.post('/determined/api/v1/checkpoints/:uuid/metadata', { schema: { tags, summary: "Replace a checkpoint's metadata", params: CheckpointParams, body: CheckpointMetadataBody, response: answers } }, async (request) => {
      const current = await training.checkpoint(request.params.uuid);
      // The SDK sends the whole new dict, with the step it was shown (wire.checkpoint puts it there).
      const { steps_completed: _step, ...wanted } = request.body.checkpoint.metadata;
      const removed = Object.keys(current.metadata).filter((key) => !(key in wanted));
      const updated = await training.updateMetadata(request.params.uuid, wanted, removed);
      return { checkpoint: (await presentCheckpoints([updated]))[0] };
    });
    app.delete('/determined/api/v1/checkpoints', { schema: { tags, summary: 'Delete checkpoints (their uuids in the body)', body: DeleteCheckpointsBody, response: answers } }, async (request) => {
      // Named in the body, not the path: each is checked against the caller here, all before any is deleted.
      for (const uuid of request.body.checkpointUuids) {
        if (await owners.hides(request.principal!, 'checkpoint', uuid)) throw new NotFoundError(notFoundMessage('checkpoint', uuid));
        await training.checkpoint(uuid);
      }
      for (const uuid of request.body.checkpointUuids) await training.deleteCheckpoint(uuid);
      return {};
    });
    app.get('/determined/checkpoints/:uuid', { schema: { tags, summary: "A checkpoint's files as a gzipped tar (the SDK's master download)", params: CheckpointParams, response: { 200: Type.String({ description: 'application/gzip' }) } } }, async (request, reply) => {
      const dir = await training.filesOf(request.params.uuid);
      reply.header('content-type', 'application/gzip').header('content-disposition', `attachment; filename="${request.params.uuid}.tar.gz"`);
      return reply.send(createTar({ cwd: dir, portable: true, follow: false }, ['.']).pipe(createGzip()) as unknown as string);
    });

    app.post('/determined/api/v1/models', { schema: { tags, summary: 'Create a model', body: CreateModelBody, response: answers } }, async (request) => {
      const { name, description, metadata, labels } = request.body;
      await models.create({ name, ...(description != null && { description }), ...(metadata != null && { metadata }), ...(labels != null && { labels }) }, request.principal!.username);
      return { model: await presentModel(name) };
    });
    app.get('/determined/api/v1/models', { schema: { tags, summary: 'Models', querystring: ModelsQuery, response: answers } }, async (request) => {
      const sortBy = ({ SORT_BY_NAME: 'name', SORT_BY_DESCRIPTION: 'description', SORT_BY_CREATION_TIME: 'creationTime', SORT_BY_LAST_UPDATED_TIME: 'lastUpdatedTime' } as const)[request.query.sortBy ?? ''];
      const found = await models.list({
        ...(sortBy && { sortBy }),
        orderBy: descending(request.query.orderBy) ? 'desc' : 'asc',
        ...(request.query.name !== undefined && { name: request.query.name }),
        ...(request.query.description !== undefined && { description: request.query.description }),
        ...(request.query.archived !== undefined && { archived: request.query.archived }),
      });
      const { items, pagination } = wire.page(found, request.query.offset, request.query.limit);
      return { models: await Promise.all(items.map(async (m) => wire.model(m, await userId(m.owner)))), pagination };
    });
    app.get('/determined/api/v1/model/labels', { schema: { tags, summary: 'Model labels, most used first', response: answers } }, async () => ({
      labels: (await models.labels()).map((l) => l.label),
    }));
    app.get('/determined/api/v1/models/:model', { schema: { tags, summary: 'A model by name or id', params: ModelParams, response: answers } }, async (request) => ({ model: await presentModel(request.params.model) }));
    app.patch('/determined/api/v1/models/:model', { schema: { tags, summary: "Replace a model's metadata, labels or description", params: ModelParams, body: PatchModelBody, response: answers } }, async (request) => {
      const current = await models.get(request.params.model);
      const { metadata, labels, description } = request.body;
      const updated = await models.patch(request.params.model, {
        ...(metadata !== undefined && { addMetadata: metadata, removeMetadata: Object.keys(current.metadata).filter((key) => !(key in metadata)) }),
        ...(labels !== undefined && { labels }),
        ...(description !== undefined && { description }),
      });
      return { model: wire.model(updated, await userId(updated.owner)) };
    });
    for (const [action, archived] of [['archive', true], ['unarchive', false]] as const) {
      app.post(`/determined/api/v1/models/:model/${action}`, { schema: { tags, summary: `${action[0]!.toUpperCase()}${action.slice(1)} a model`, params: ModelParams, response: answers } }, async (request) => {
        await models.patch(request.params.model, { archived });
        return {};
      });
    }
    app.delete('/determined/api/v1/models/:model', { schema: { tags, summary: 'Delete a model and its versions', params: ModelParams, response: answers } }, async (request) => {
      // Determined deletes a model with its versions; only its owner or an admin gets here (route policy).
      await models.delete(request.params.model, true);
      return {};
    });
    app.post('/determined/api/v1/models/:model/versions', { schema: { tags, summary: 'Register a checkpoint as the next version', params: ModelParams, body: RegisterVersionBody, response: answers } }, async (request) => {
      const uuid = request.body.checkpointUuid;
      if (await owners.hides(request.principal!, 'checkpoint', uuid)) throw new NotFoundError(notFoundMessage('checkpoint', uuid));
      const version = await models.registerVersion(request.params.model, { checkpointUuid: uuid, ...(request.body.name && { name: request.body.name }), ...(request.body.comment && { comment: request.body.comment }) });
      return { modelVersion: await presentVersion(version) };
    });
    app.get('/determined/api/v1/models/:model/versions', { schema: { tags, summary: "A model's versions", params: ModelParams, querystring: TrialsQuery, response: answers } }, async (request) => {
      const versions = await models.versions(request.params.model, descending(request.query.orderBy) ? 'desc' : 'asc');
      const { items, pagination } = wire.page(versions, request.query.offset, request.query.limit);
      return { model: await presentModel(request.params.model), modelVersions: await Promise.all(items.map(presentVersion)), pagination };
    });
    app.get('/determined/api/v1/models/:model/versions/:version', { schema: { tags, summary: 'A version by number', params: VersionParams, response: answers } }, async (request) => {
      const version = await models.version(request.params.model, String(request.params.version));
      return { modelVersion: await presentVersion(version!) };
    });
  };

  async function presentVersion(version: Awaited<ReturnType<ModelService['version']>> & object) {
    const [checkpoint] = await presentCheckpoints([version.checkpoint]).catch(() => [undefined]);
    return wire.modelVersion(version, await presentModel(String(version.model.id)), checkpoint ?? keptCheckpoint(version.checkpoint));
  }
}

/** A registered checkpoint whose experiment was deleted (the registry kept its files): no config to show. */
function keptCheckpoint(view: Checkpoint): wire.DeterminedCheckpoint {
  return wire.checkpoint(view, 0, { original: '', config: {} }, '');
}

function determinedUser(user: { id: number; username: string; admin: boolean; active: boolean }) {
  return { id: user.id, username: user.username, admin: user.admin, active: user.active, displayName: user.username, remote: false };
}

function abortedWith(request: FastifyRequest): AbortSignal {
  const aborted = new AbortController();
  request.raw.once('close', () => aborted.abort());
  return aborted.signal;
}

type LogFilter = (line: LogLine) => boolean;

function filterOf(query: Static<typeof LogsQuery>): LogFilter | undefined {
  const levels = list(query.levels);
  const ranks = list(query.rankIds);
  const before = query.timestampBefore ? Date.parse(query.timestampBefore) : undefined;
  const after = query.timestampAfter ? Date.parse(query.timestampAfter) : undefined;
  if ((before !== undefined && Number.isNaN(before)) || (after !== undefined && Number.isNaN(after))) throw new ValidationError('timestampBefore/timestampAfter: give an RFC 3339 time', 'timestampBefore');
  if (levels.length === 0 && ranks.length === 0 && !query.searchText && before === undefined && after === undefined) return undefined;
  return (line) =>
    (levels.length === 0 || levels.includes(wire.logLevel(line.level))) &&
    (ranks.length === 0 || ranks.includes(line.rank)) &&
    (!query.searchText || line.text.includes(query.searchText)) &&
    (before === undefined || Date.parse(line.time) < before) &&
    (after === undefined || Date.parse(line.time) > after);
}

/**
 * The lines a log request asks for, in the order they are answered: everything (paged through, never whole in
 * memory), a head, a tail newest first, or a follow. A missing trial is thrown here, before the answer starts.
 */
async function logLines(trials: TrialService, id: number, query: Static<typeof LogsQuery>, signal: AbortSignal): Promise<AsyncIterable<LogLine>> {
  const filter = filterOf(query);
  const limit = query.limit || undefined;
  const tail = limit !== undefined && descending(query.orderBy);
  if (query.follow) {
    const followed = await trials.follow(id, {}, signal);
    return (async function* () {
      let sent = 0;
      for await (const { line } of followed) {
        if (filter && !filter(line)) continue;
        yield line;
        if (limit !== undefined && ++sent >= limit) return;
      }
    })();
  }
  if (tail && !filter) {
    const page = await trials.lines(id, { tail: limit });
    return (async function* () {
      yield* page.lines.reverse();
    })();
  }
  const first = await trials.lines(id, { limit: 10_000 });
  return (async function* () {
    let page = first;
    // The last `limit` filtered lines: trimmed in batches, so a long log costs no shift per line.
    let kept: LogLine[] = [];
    let sent = 0;
    for (;;) {
      for (const line of page.lines) {
        if (filter && !filter(line)) continue;
        if (tail) {
          kept.push(line);
          if (kept.length >= 2 * limit!) kept = kept.slice(-limit!);
          continue;
        }
        yield line;
        if (limit !== undefined && ++sent >= limit) return;
      }
      if (page.next === null || signal.aborted) break;
      page = await trials.lines(id, { limit: 10_000, after: page.next });
    }
    yield* kept.slice(-limit!).reverse();
  })();
}

async function* ndjson(lines: AsyncIterable<LogLine>, trialId: number): AsyncGenerator<string> {
  let id = 0;
  try {
    for await (const line of lines) yield wire.logLine(line, trialId, id++);
  } catch (error) {
    // The SDK stops at an {"error": …} line and raises with its message.
    yield `${JSON.stringify({ error: { message: (error as Error).message } })}\n`;
  }
}
