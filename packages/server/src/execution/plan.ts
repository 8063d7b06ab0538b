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

export interface DistributedContext {
  framework: string;
  host: string;
  /** One port per executor, by rank. */
  ports: number[];
  /** GPU indices per executor, by rank. */
  gpus: number[][];
}

/**
 * The distributed-training variables of each executor, by rank: RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR,
 * MASTER_PORT (rank 0's port), CUDA_VISIBLE_DEVICES (empty when it has no GPU, so it cannot take another's),
 * and for TensorFlow TF_CONFIG with the cluster by role (evaluators are not cluster members, as in TF).
 */
export function distributedEnv(executors: ExecutorPlan[], context: DistributedContext): Record<string, string>[] {
  const address = (rank: number) => `${context.host}:${context.ports[rank]}`;
  const cluster: Record<string, string[]> = {};
  for (const e of executors) {
    const type = e.role.toLowerCase();
    if (type === 'evaluator') continue;
    (cluster[type] ??= []).push(address(e.rank));
  }
  return executors.map((e) => {
    const env: Record<string, string> = {
      RANK: String(e.rank),
      LOCAL_RANK: String(e.rank),
      WORLD_SIZE: String(executors.length),
      MASTER_ADDR: context.host,
      MASTER_PORT: String(context.ports[0]),
      CUDA_VISIBLE_DEVICES: (context.gpus[e.rank] ?? []).join(','),
    };
    if (context.framework.toLowerCase() === 'tensorflow') {
      env.TF_CONFIG = JSON.stringify({ cluster, task: { type: e.role.toLowerCase(), index: e.replica } });
    }
    return env;
  });
}
