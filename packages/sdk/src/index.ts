/**
 * @periscope/sdk: the Periscope client for Node and browsers (global fetch, no Node-only APIs).
 * `Periscope` is the client; `ExperimentClient` and `EnvironmentClient` are Submarine's SDK shapes over it.
 */
export { Periscope } from './periscope.js';
export { DEFAULT_MASTER, type PeriscopeOptions, type ResolvedOptions } from './options.js';
export type { CallOptions } from './transport.js';
export type { ExperimentsClient, ExperimentPage, GetLogOptions, ListExperimentsOptions, SubmarineExperimentStatus } from './experiments.js';
export type { CreateEnvironmentInput, EnvironmentsClient } from './environments.js';
export { isFinal, type FinalStatus, type FollowEnd, type FollowLogsOptions, type PodLogLine, type WaitOptions, type WaitProgress, type WaitResult } from './wait.js';
export { masterPod } from './master-pod.js';
export {
  ExperimentClient,
  EnvironmentClient,
  type SubmarineClientOptions,
  type WaitForFinishOptions,
} from './submarine-clients.js';
export {
  PeriscopeApiError,
  PeriscopeClientError,
  PeriscopeConnectionError,
  PeriscopeTimeoutError,
  isNotFound,
  isPeriscopeError,
} from './errors.js';
export type { Environment, EnvironmentSpec, Executor, Experiment, ExperimentLog, ExperimentSpec, Trial } from '@periscope/core';
