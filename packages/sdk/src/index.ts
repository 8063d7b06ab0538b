/**
 * @periscope/sdk: the Periscope client for Node and browsers (global fetch, no Node-only APIs).
 * `Periscope` is the client; `ExperimentClient` and `EnvironmentClient` are Submarine's SDK shapes over it,
 * `NetunicornClient` netunicorn's.
 */
export { Periscope } from './periscope.js';
export { DEFAULT_MASTER, type PeriscopeOptions, type ResolvedOptions } from './options.js';
export type { CallOptions } from './transport.js';
export type { ExperimentsClient, ExperimentPage, GetLogOptions, ListExperimentsOptions, SubmarineExperimentStatus } from './experiments.js';
export type { CreateEnvironmentInput, EnvironmentsClient } from './environments.js';
export type { CancelExecutorsResult, ExecutionStatus, ExecutionsClient, WaitForExecutionOptions } from './executions.js';
export type { Flag, FlagValues, FlagsClient, GetFlagOptions } from './flags.js';
export type { HealthReport } from './health.js';
export type { ListNodesOptions, NodeGpu, NodesClient, PeriscopeNode } from './nodes.js';
export type { UsersClient } from './users.js';
export type { DashboardClient, FeedEvent, FollowOptions, LogFilter, LogPageOptions, SummariesOptions } from './dashboard.js';
export { NetunicornClient, type NetunicornClientOptions, type NetunicornContext } from './netunicorn-client.js';
export { isFinal, type FinalStatus, type FollowEnd, type FollowLogsOptions, type PodLogLine, type WaitOptions, type WaitProgress, type WaitResult } from './wait.js';
export { masterPod } from './master-pod.js';
export {
  ExperimentClient,
  EnvironmentClient,
  type SubmarineClientOptions,
  type WaitForFinishOptions,
} from './submarine-clients.js';
export { createExperiment, createModel, getCheckpoint, getExperiment, getModel, getModelById, getModelLabels, getModels, getTrial, login } from './determined/default-client.js';
export type { CreateExperimentOptions, ExperimentConfig } from './determined/client.js';
export { ExperimentReference, type ExperimentWaitOptions, type GetTrialsOptions, type TrialSortBy } from './determined/experiment-reference.js';
export { TrialReference, type CheckpointOrder, type LogLevel, type SelectCheckpointOptions, type TrialLogsOptions } from './determined/trial-reference.js';
export { Checkpoint, type CheckpointState } from './determined/checkpoint.js';
export {
  Model,
  ModelVersion,
  type CreateModelOptions,
  type DeleteModelOptions,
  type GetModelsOptions,
  type ModelLabel,
  type ModelOrderBy,
  type ModelSortBy,
  type ModelsClient,
  type RegisterVersionOptions,
} from './models.js';
export { DeterminedUsageError } from './determined/selectors.js';
export {
  PeriscopeApiError,
  PeriscopeClientError,
  PeriscopeConnectionError,
  PeriscopeTimeoutError,
  isNotFound,
  isPeriscopeError,
  type CertificateProblem,
} from './errors.js';
export type {
  BrowserSession,
  CreateUserRequest,
  DashboardEvent,
  Environment,
  EnvironmentSpec,
  ExecutionInfo,
  Executor,
  ExecutorResult,
  Experiment,
  ExperimentLog,
  ExperimentSpec,
  ExperimentSummary,
  LoginAnswer,
  LogLine,
  Trial,
  UpdateUserRequest,
  User,
} from '@periscope/core';
