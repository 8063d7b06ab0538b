/**
 * Translations between netunicorn's wire shapes (client 0.4, executor 0.4; shared/reference/peer-wire) and
 * Periscope's, in one place: a prepare request becomes an experiment spec, our records become
 * ExperimentExecutionInformation. Execution graphs and results are base64 of cloudpickle bytes and stay
 * opaque strings here: nothing in the server decodes them.
 */
import { constants } from 'node:os';
import { STATUS_TABLE, ValidationError, type ExperimentSpec, type ExperimentStatus } from '@periscope/core';
import Type, { type Static } from 'typebox';
import type { ExperimentRecord } from '../experiments/store.js';
import type { NodeCapacity } from '../execution/capacity.js';
import type { FlagRecord } from '../flags/store.js';
import type { ExecutorRecord } from '../trials/store.js';
import type { ExecutorReport } from './blob-store.js';

/** The largest prepare request (all deployments' graphs together) and the largest executor report. */
export const MAX_PREPARE_BYTES = 32 * 1024 * 1024;
export const MAX_REPORT_BYTES = 16 * 1024 * 1024;

/** base64 as Python's b64encode writes it; checked, never decoded. */
const Base64 = (description: string, maxLength: number) => Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', maxLength, description });
const Loose = Type.Record(Type.String(), Type.Unknown());

export const WireNode = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 253 }),
    properties: Type.Optional(Loose),
    additional_properties: Type.Optional(Loose),
    architecture: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: true },
);

const RuntimeContext = Type.Object(
  {
    environment_variables: Type.Optional(Type.Record(Type.String({ maxLength: 256 }), Type.String({ maxLength: 65536 }))),
    ports_mapping: Type.Optional(Type.Unknown()),
    additional_arguments: Type.Optional(Type.Unknown()),
    network: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: true },
);

const Deployment = Type.Object(
  {
    node: WireNode,
    execution_graph: Base64('base64(cloudpickle(ExecutionGraph)); relayed to the executor as sent.', MAX_PREPARE_BYTES),
    environment_definition: Type.Object(
      { commands: Type.Optional(Type.Array(Type.String({ maxLength: 65536 }), { maxItems: 1000 })), runtime_context: Type.Optional(RuntimeContext) },
      { additionalProperties: true },
    ),
    environment_definition_type: Type.Optional(Type.String({ maxLength: 64 })),
    prepared: Type.Optional(Type.Boolean()),
    executor_id: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
    error: Type.Optional(Type.Unknown()),
    keep_alive_timeout_minutes: Type.Optional(Type.Number()),
    cleanup: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true },
);

export const PrepareBody = Type.Object(
  {
    deployment_map: Type.Array(Deployment, { minItems: 1, maxItems: 1000 }),
    deployment_context: Type.Optional(Type.Union([Type.Null(), Loose])),
  },
  { additionalProperties: true },
);
export type PrepareBody = Static<typeof PrepareBody>;

export const ReportBody = Type.Object(
  {
    executor_id: Type.String({ minLength: 1, maxLength: 256 }),
    results: Type.Union([Base64('base64(cloudpickle([Result, log lines])); kept as sent.', MAX_REPORT_BYTES), Type.Null()]),
    state: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })),
  },
  { additionalProperties: true },
);

export const FlagValues = Type.Object({ text_value: Type.Optional(Type.Union([Type.String(), Type.Null()])), int_value: Type.Optional(Type.Union([Type.Integer(), Type.Null()])) });

/** A flag as netunicorn's FlagValues. */
export function flagValues(flag: FlagRecord): { text_value: string | null; int_value: number | null } {
  return { text_value: flag.textValue, int_value: flag.intValue };
}

/** netunicorn's FlagValues as the flag service's change (both values replaced; a missing one is null). */
export function flagChange(values: Static<typeof FlagValues>): { textValue: string | null; intValue: number | null } {
  return { textValue: values.text_value ?? null, intValue: values.int_value ?? null };
}

/** netunicorn's ExperimentStatus values, by our status table's netunicorn column. */
const STATUS_CODES: Record<string, number> = { UNKNOWN: 0, PREPARING: 1, READY: 2, RUNNING: 3, FINISHED: 4 };

export function statusCode(status: ExperimentStatus): number {
  return STATUS_CODES[STATUS_TABLE[status].netunicorn] ?? 0;
}

/** The executor's report state for "finished" (netunicorn's ExecutorState.FINISHED). */
export const REPORT_FINISHED = 2;

/** Each deployment runs as its own role, so its executor (role `d<i>`, replica 0) is found by index. */
export const deploymentRole = (index: number) => `d${index}`;

/** The deployment an executor of `role` runs (the inverse of deploymentRole); undefined for any other role. */
export function deploymentOf(request: PrepareBody, role: string): PrepareBody['deployment_map'][number] | undefined {
  const index = /^d(\d+)$/.exec(role)?.[1];
  return index === undefined ? undefined : request.deployment_map[Number(index)];
}

/** The heartbeat an executor is told to keep, unless the deployment's own environment says otherwise. */
const HEARTBEAT_SECONDS = '10';

/**
 * The spec a prepare request runs as: one role per deployment, pinned to its node, whose command is the
 * deployment's environment commands and then the netunicorn executor. The executor's id, experiment id and
 * gateway (which carries the trial's task token as its secret path segment) are read from the variables every
 * executor gets, so nothing about the request is spliced into the shell: the commands are the user's own, run
 * as given.
 */
export function specOf(name: string, body: PrepareBody, nodes: NodeCapacity[]): ExperimentSpec {
  const known = new Set(nodes.map((n) => n.name));
  const spec: ExperimentSpec['spec'] = {};
  body.deployment_map.forEach((deployment, i) => {
    const field = `deployment_map.${i}`;
    const type = deployment.environment_definition_type ?? 'ShellExecution';
    if (type !== 'ShellExecution') {
      throw new ValidationError(`${field}.environment_definition_type: "${type}" is not supported here: Periscope's nodes run ShellExecution environments only`, `${field}.environment_definition_type`);
    }
    if (!known.has(deployment.node.name)) {
      throw new ValidationError(`${field}.node: no node named "${deployment.node.name}" (nodes: ${[...known].join(', ')})`, `${field}.node`);
    }
    const commands = deployment.environment_definition.commands ?? [];
    spec[deploymentRole(i)] = {
      replicas: 1,
      nodes: [deployment.node.name],
      cmd: [
        'export NETUNICORN_EXECUTOR_ID="$PERISCOPE_EXECUTOR" NETUNICORN_EXPERIMENT_ID="$PERISCOPE_EXPERIMENT_ID"',
        'export NETUNICORN_GATEWAY_ENDPOINT="$PERISCOPE_API/netunicorn/gateway/$PERISCOPE_TOKEN"',
        'set -e',
        ...commands,
        'exec python3 -m netunicorn.executor',
      ].join('\n'),
      envVars: { NETUNICORN_EXECUTOR_HEARTBEAT_SECONDS: HEARTBEAT_SECONDS, ...deployment.environment_definition.runtime_context?.environment_variables },
    };
  });
  return { meta: { name: name.replace(/[^A-Za-z0-9]+$/, '') || 'netunicorn', framework: 'Custom', tags: ['netunicorn'] }, spec };
}

/** A node as netunicorn's CountableNodePool lists it; `properties` carries what clients filter on. */
export function wireNode(node: NodeCapacity): Record<string, unknown> {
  return {
    name: node.name,
    properties: {
      ...node.labels,
      connector: 'periscope',
      'netunicorn-environments': ['ShellExecution'],
      cpus: node.cpus,
      memory_mb: node.memoryMb,
      gpus: node.gpus.length,
    },
    additional_properties: {},
    architecture: dockerArchitecture(node.architecture),
  };
}

function dockerArchitecture(architecture: string): string {
  if (['x64', 'x86_64', 'amd64'].includes(architecture)) return 'linux/amd64';
  if (['arm64', 'aarch64'].includes(architecture)) return 'linux/arm64';
  return `linux/${architecture}`;
}

export interface Facts {
  record: ExperimentRecord;
  /** The prepare request as sent; undefined for an execution prepared through Periscope's own API. */
  request: PrepareBody | undefined;
  executors: ExecutorRecord[];
  reports: Map<string, ExecutorReport>;
}

/** ExperimentExecutionInformation: `{status, experiment, execution_result}`. */
export function executionInformation({ record, request, executors, reports }: Facts): Record<string, unknown> {
  const byRole = new Map(executors.map((e) => [e.role, e]));
  const planned = !['Accepted', 'Preparing'].includes(record.status);
  const deployments = (request?.deployment_map ?? []).map((d, i) => ({ deployment: d, executor: byRole.get(deploymentRole(i)) }));
  const experiment = request && {
    ...request,
    deployment_map: deployments.map(({ deployment, executor }) => ({
      ...deployment,
      executor_id: executor?.name ?? '',
      prepared: planned && executor !== undefined && record.status !== 'Failed',
      error: executor?.state === 'Failed' && executor.startedAt === null ? executor.cause : null,
    })),
  };
  const ran = executors.some((e) => e.startedAt !== null || e.finishedAt !== null);
  let result: unknown = null;
  if (ran) {
    result = deployments.map(({ deployment, executor }) => {
      const report = executor && reports.get(executor.name);
      return { node: deployment.node, execution_graph: deployment.execution_graph, result: report?.results ?? null, error: executor ? executorError(executor, report) : 'no executor was planned for this deployment' };
    });
  } else if (record.status === 'Failed' || record.status === 'Canceled') {
    // It ended before any executor started (its preparation failed, or it was canceled while queued).
    result = record.message ?? `experiment ${record.status.toLowerCase()} before it ran`;
  }
  return { status: statusCode(record.status), experiment: experiment ?? null, execution_result: result };
}

/** Why an executor has no final report, in netunicorn's words; null while it runs or once it reported. */
function executorError(executor: ExecutorRecord, report: ExecutorReport | undefined): string | null {
  if (report?.state === REPORT_FINISHED) return null;
  if (executor.finishedAt === null) return null;
  const code = executor.exitCode ?? (executor.signal ? -(constants.signals[executor.signal as keyof typeof constants.signals] ?? 0) : null);
  return `executor exited (${code ?? 'unknown'}) without reporting${executor.cause ? `: ${executor.cause}` : ''}`;
}
