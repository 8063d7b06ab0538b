/**
 * Slurm's nodes as Periscope's: capacity, GPUs from GRES, features as labels, state, and what is allocated
 * now, read from `scontrol show node -o`.
 */
import type { Resources } from '@periscope/core';
import type { NodeCapacity } from '../capacity.js';
import { parseScontrolLine } from './slurm-cli.js';

export interface SlurmNode extends NodeCapacity {
  /** The address executors on it are reached at (NodeAddr; MASTER_ADDR when rank 0 lands there). */
  address: string;
}

/** Node features are labels: `a100` is `{a100: "true"}`, `gpu=a100` is `{gpu: "a100"}`. */
export function featureLabels(features: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const f of features.split(',').map((s) => s.trim())) {
    if (!f || f === '(null)') continue;
    const eq = f.indexOf('=');
    if (eq > 0) labels[f.slice(0, eq)] = f.slice(eq + 1);
    else labels[f] = 'true';
  }
  return labels;
}

/** The GPU count of a GRES string: `gpu:2`, `gpu:a100:4(S:0-1)`, `gpu:a100:2,gpu:v100:1`, `(null)`. */
export function gpuCount(gres: string): number {
  let count = 0;
  for (const part of gres.split(',')) {
    const m = /^gpu(?::[^:(]+)?:(\d+)/.exec(part.trim());
    if (m) count += Number(m[1]);
  }
  return count;
}

/** What `scontrol show node -o` says, one node per line. */
export function parseNodes(out: string): SlurmNode[] {
  const nodes: SlurmNode[] = [];
  for (const line of out.split('\n')) {
    if (!line.startsWith('NodeName=')) continue;
    const f = parseScontrolLine(line);
    const gpus = gpuCount(f.Gres ?? '');
    const allocGpus = /gres\/gpu=(\d+)/.exec(f.AllocTRES ?? '');
    nodes.push({
      name: f.NodeName!,
      address: f.NodeAddr || f.NodeHostName || f.NodeName!,
      architecture: f.Arch ?? 'unknown',
      cpus: Number(f.CPUEfctv ?? f.CPUTot) || 0,
      memoryMb: Number(f.RealMemory) || 0,
      gpus: Array.from({ length: gpus }, (_, index) => ({ index, name: 'slurm-gres', memoryMb: 0, uuid: `${f.NodeName}-gpu${index}` })),
      labels: featureLabels(f.AvailableFeatures ?? ''),
      state: nodeState(f.State ?? 'UNKNOWN'),
      allocated: { cpu: Number(f.CPUAlloc) || 0, memoryMb: Number(f.AllocMem) || 0, gpus: Array.from({ length: Number(allocGpus?.[1] ?? 0) }, (_, i) => i) },
    });
  }
  return nodes;
}

/** Slurm's node state in Periscope's words: READY when it takes jobs, else Slurm's own state. */
function nodeState(state: string): string {
  const base = state.split('+')[0]!;
  if (['IDLE', 'MIXED', 'ALLOCATED', 'COMPLETING'].includes(base) && !/DRAIN|DOWN|FAIL|NOT_RESPONDING|MAINT|RESERVED/.test(state)) return 'READY';
  return state;
}

/** Why a gang could never run on these nodes (each executor must fit some node), in words, or null. */
export function neverFits(executors: Resources[], nodes: SlurmNode[]): string | null {
  if (nodes.length === 0) return 'The Slurm cluster reports no nodes. It can never be scheduled.';
  for (const e of executors) {
    if (nodes.some((n) => e.cpu <= n.cpus && e.memoryMb <= n.memoryMb && e.gpu <= n.gpus.length)) continue;
    const biggest = nodes.reduce((a, b) => ({ cpus: Math.max(a.cpus, b.cpus), memoryMb: Math.max(a.memoryMb, b.memoryMb), gpus: Math.max(a.gpus, b.gpus.length) }), { cpus: 0, memoryMb: 0, gpus: 0 });
    return `An executor needs cpu=${e.cpu}, memory=${e.memoryMb}M, gpu=${e.gpu}, but no Slurm node has that much (the largest have cpu=${biggest.cpus}, memory=${biggest.memoryMb}M, gpu=${biggest.gpus}). It can never be scheduled.`;
  }
  return null;
}
