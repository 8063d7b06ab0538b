import { formatTime, toSubmarineStatus, type Experiment, type ExperimentLog } from '@periscope/core';
import { executorName } from '../execution/plan.js';
import { redactSpec } from './secrets.js';
import type { ExperimentRecord } from './store.js';

/** The Submarine wire form of an experiment. Credentials are never echoed. */
export function presentExperiment(record: ExperimentRecord): Experiment {
  return {
    experimentId: record.id,
    uid: record.uid,
    status: toSubmarineStatus(record.status),
    acceptedTime: formatTime(record.acceptedAt),
    createdTime: formatTime(record.createdAt),
    runningTime: formatTime(record.runningAt),
    finishedTime: formatTime(record.finishedAt),
    spec: redactSpec(record.spec),
  };
}

/** Submarine's DELETE answer: status Deleted and all four times null. */
export function presentDeleted(record: ExperimentRecord): Experiment {
  return {
    ...presentExperiment(record),
    status: 'Deleted',
    acceptedTime: null,
    createdTime: null,
    runningTime: null,
    finishedTime: null,
  };
}

/**
 * Pod (executor) names of trial 1, as the Kubeflow operator names Submarine's pods:
 * `<experimentId>-<role lowercased>-<index>`, sorted by name as Kubernetes lists them.
 */
export function podNames(record: ExperimentRecord): string[] {
  const names: string[] = [];
  for (const [role, task] of Object.entries(record.spec.spec)) {
    for (let i = 0; i < task.replicas; i++) names.push(executorName(record.id, 1, role, i));
  }
  return names.sort();
}

export function presentLog(record: ExperimentRecord, linesOf: (pod: string) => string[]): ExperimentLog {
  return {
    experimentId: record.id,
    logContent: podNames(record).map((podName) => ({ podName, podLog: linesOf(podName) })),
  };
}
