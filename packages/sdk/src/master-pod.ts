import type { ExperimentLog } from '@periscope/core';

type PodLog = ExperimentLog['logContent'][number];

/** Roles that lead a distributed job, in the order `onlyMaster` prefers them. */
const LEADING_ROLES = ['master', 'chief'] as const;

/**
 * The pod `onlyMaster` keeps: replica 0 of the Master role, else of the Chief role, else the first pod in name
 * order (how Kubernetes lists them, and how the server sorts `logContent`). Pod names are
 * `<experimentId>-<role lowercased>-<index>`, or `<experimentId>-t<n>-<role lowercased>-<index>` after trial 1.
 */
export function masterPod(log: ExperimentLog): PodLog | undefined {
  const pods = [...log.logContent].sort((a, b) => (a.podName < b.podName ? -1 : a.podName > b.podName ? 1 : 0));
  for (const role of LEADING_ROLES) {
    const candidates = pods
      .map((pod) => ({ pod, name: parsePodName(log.experimentId, pod.podName) }))
      .filter((c) => c.name?.role === role)
      .sort((a, b) => a.name!.index - b.name!.index);
    if (candidates[0]) return candidates[0].pod;
  }
  return pods[0];
}

/** The log with only the master pod's entry (or none, when the experiment has no pods yet). */
export function onlyMaster(log: ExperimentLog): ExperimentLog {
  const pod = masterPod(log);
  return { experimentId: log.experimentId, logContent: pod ? [pod] : [] };
}

function parsePodName(experimentId: string, podName: string): { role: string; index: number } | undefined {
  if (!podName.startsWith(`${experimentId}-`)) return undefined;
  const match = /^(?:t\d+-)?(.+)-(\d+)$/.exec(podName.slice(experimentId.length + 1));
  return match ? { role: match[1]!, index: Number(match[2]) } : undefined;
}
