/**
 * What a trial runs: one executor per role replica, with its rank and the environment of distributed training.
 * Pure: ports and GPUs are given, nothing is spawned.
 */
import { planRoles, type NormalizedExperimentSpec, type Resources } from '@periscope/core';

export interface ExecutorPlan {
  name: string;
  role: string;
  replica: number;
  rank: number;
  cmd: string;
  pipeline: string[][] | null;
  nodes: string[] | null;
  nodeSelector: Record<string, string> | null;
  resources: Resources;
  envVars: Record<string, string>;
}

/** Roles that coordinate come first, so PyTorch's Master replica 0 (or TF's Chief) is rank 0. */
const LEADER_ROLES = ['Master', 'Chief'];

export function executorName(experimentId: string, trialNumber: number, role: string, replica: number): string {
  const trial = trialNumber === 1 ? '' : `t${trialNumber}-`;
  return `${experimentId}-${trial}${role.toLowerCase()}-${replica}`;
}

export function planExecutors(experimentId: string, trialNumber: number, spec: NormalizedExperimentSpec, storedImage: string | null = null): ExecutorPlan[] {
  const roles = planRoles(spec, storedImage);
  const ordered = [...roles].sort((a, b) => leaderRank(a.role) - leaderRank(b.role));
  const plans: ExecutorPlan[] = [];
  for (const role of ordered) {
    for (let replica = 0; replica < role.replicas; replica++) {
      plans.push({
        name: executorName(experimentId, trialNumber, role.role, replica),
        role: role.role,
        replica,
        rank: plans.length,
        cmd: role.cmd,
        pipeline: role.pipeline,
        nodes: role.nodes,
        nodeSelector: role.nodeSelector,
        resources: role.resources,
        envVars: role.envVars,
      });
    }
  }
  return plans;
}

/**
 * Why no node offered can take a role's pinned or selected replicas, in words, or null when every role has
 * somewhere to go.
 */
export function placementConflict(executors: ExecutorPlan[], nodes: { name: string; labels: Record<string, string> }[]): string | null {
  for (const e of executors) {
    const fits = nodes.filter(
      (n) => (!e.nodes || e.nodes.includes(n.name)) && Object.entries(e.nodeSelector ?? {}).every(([k, v]) => n.labels[k] === v),
    );
    if (fits.length === 0) {
      const wanted = [e.nodes && `nodes [${e.nodes.join(', ')}]`, e.nodeSelector && `labels ${JSON.stringify(e.nodeSelector)}`].filter(Boolean).join(' and ');
      return `Role ${e.role} asks for ${wanted}, but no node matches (nodes: ${nodes.map((n) => `${n.name} ${JSON.stringify(n.labels)}`).join('; ')}). It can never be scheduled.`;
    }
  }
  return null;
}

function leaderRank(role: string): number {
  const index = LEADER_ROLES.indexOf(role);
  return index === -1 ? LEADER_ROLES.length : index;
}
