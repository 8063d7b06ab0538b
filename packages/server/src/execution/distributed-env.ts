/**
 * The distributed-training environment of a gang, computed once it is placed, from where each executor landed:
 * one module for every launcher. MASTER_ADDR is rank 0's host and MASTER_PORT a port free on it; ranks on the
 * same node share LOCAL_WORLD_SIZE and get LOCAL_RANK in rank order; NODE_RANK numbers the nodes in the order
 * their first rank appears; TF_CONFIG names real hosts; CUDA_VISIBLE_DEVICES is the engine's allocation (empty
 * when an executor has none, so it cannot take another's), unless the engine sets it itself.
 */
import type { ExecutorPlan } from './plan.js';

/** Where one executor landed, by rank. */
export interface Landing {
  node: string;
  /** An address the other executors reach it on. */
  host: string;
  /** A port free on that host for it to listen on (rank 0's is the rendezvous). */
  port: number;
  /** The GPUs it was given, or null when the engine sets CUDA_VISIBLE_DEVICES itself (Slurm, per step). */
  gpus: number[] | null;
}

export function distributedEnv(executors: Pick<ExecutorPlan, 'role' | 'rank' | 'replica'>[], framework: string, landings: Landing[]): Record<string, string>[] {
  const at = (rank: number) => landings[rank]!;
  const cluster: Record<string, string[]> = {};
  for (const e of executors) {
    const type = e.role.toLowerCase();
    if (type === 'evaluator') continue; // not a cluster member, as in TF
    (cluster[type] ??= []).push(`${at(e.rank).host}:${at(e.rank).port}`);
  }
  const byRank = [...executors].sort((a, b) => a.rank - b.rank);
  const nodes = [...new Set(byRank.map((e) => at(e.rank).node))];
  const ranksOn = (node: string) => byRank.filter((e) => at(e.rank).node === node).map((e) => e.rank);
  return executors.map((e) => {
    const { node, gpus } = at(e.rank);
    const local = ranksOn(node);
    const env: Record<string, string> = {
      RANK: String(e.rank),
      WORLD_SIZE: String(executors.length),
      LOCAL_RANK: String(local.indexOf(e.rank)),
      LOCAL_WORLD_SIZE: String(local.length),
      NODE_RANK: String(nodes.indexOf(node)),
      MASTER_ADDR: at(0).host,
      MASTER_PORT: String(at(0).port),
    };
    if (gpus !== null) env.CUDA_VISIBLE_DEVICES = gpus.join(',');
    if (framework.toLowerCase() === 'tensorflow') env.TF_CONFIG = JSON.stringify({ cluster, task: { type: e.role.toLowerCase(), index: e.replica } });
    return env;
  });
}
