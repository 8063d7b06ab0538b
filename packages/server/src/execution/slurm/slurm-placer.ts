/**
 * The Slurm launcher's placer: Slurm queues and places, so gangs are admitted as they come and handed to
 * sbatch at once; only what no node could ever hold is refused here (from the nodes last read). Why a gang
 * waits comes from Slurm itself, as the launcher's pending events.
 */
import type { Resources } from '@periscope/core';
import { NeverFitsError, type GangRequest, type Placement, type Placer } from '../scheduler.js';
import { neverFits, type SlurmNode } from './slurm-nodes.js';

export class SlurmPlacer implements Placer {
  private readonly ready: GangRequest[] = [];
  private readonly placed = new Map<number, GangRequest>();
  /** The cluster's nodes as last read (the launcher refreshes them on every nodes() call). */
  nodes: SlurmNode[] = [];

  checkFits(executors: Resources[]): void {
    if (this.nodes.length === 0) return; // not read yet: sbatch refuses what cannot fit, in its words
    const why = neverFits(executors, this.nodes);
    if (why) throw new NeverFitsError(why);
  }

  enqueue(request: GangRequest): void {
    this.checkFits(request.executors);
    if (this.placed.has(request.trialId) || this.ready.some((r) => r.trialId === request.trialId)) return;
    this.ready.push(request);
  }

  schedule(): Placement[] {
    const placements = this.ready.splice(0).map((r) => {
      this.placed.set(r.trialId, r);
      // host null: the engine places each executor itself, and the environment is computed when it has.
      return { trialId: r.trialId, node: '', host: null, gpus: r.executors.map(() => []) };
    });
    return placements;
  }

  adopt(request: GangRequest): void {
    this.placed.set(request.trialId, request);
  }

  release(trialId: number): void {
    const index = this.ready.findIndex((r) => r.trialId === trialId);
    if (index >= 0) this.ready.splice(index, 1);
    this.placed.delete(trialId);
  }

  pendingReasons(): { trialId: number; reason: string }[] {
    return [];
  }

  usage(): { cpu: number; memoryMb: number; gpus: number[]; queued: number; placed: number } {
    let cpu = 0;
    let memoryMb = 0;
    for (const r of this.placed.values()) for (const e of r.executors) (cpu += e.cpu), (memoryMb += e.memoryMb);
    return { cpu, memoryMb, gpus: [], queued: this.ready.length, placed: this.placed.size };
  }
}
