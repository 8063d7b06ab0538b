/**
 * Gang scheduling on one node: a priority-then-FIFO queue of trials, each placed only when all its executors
 * fit in the free CPUs, memory and GPUs at once. The head of the queue is never overtaken (no backfill), so a
 * large trial cannot starve behind a stream of small ones. Pure bookkeeping: no processes, no I/O.
 */
import type { Resources } from '@periscope/core';
import type { NodeCapacity } from './capacity.js';

export interface GangRequest {
  /** The trial id. */
  trialId: number;
  priority: number;
  /** One entry per executor. */
  executors: Resources[];
}

export interface Placement {
  trialId: number;
  node: string;
  /**
   * The address executors on that node are reached at (rank 0's is MASTER_ADDR), or null when the engine
   * places each executor itself at submit (a cluster scheduler): the environment then waits for its landings.
   */
  host: string | null;
  /** GPU indices per executor, in request order. */
  gpus: number[][];
}

export class NeverFitsError extends Error {}

/**
 * Where a launcher's gangs wait and are placed. The local launcher's is the gang scheduler over its node; a
 * cluster engine queues and places with its own scheduler, so its placer admits gangs as they come and only
 * refuses what could never fit.
 */
export interface Placer {
  /** Throws NeverFitsError, naming the shortfall, when the gang could never be placed. */
  checkFits(executors: Resources[]): void;
  enqueue(request: GangRequest): void;
  /** The gangs that can be placed now, in order. */
  schedule(): Placement[];
  /** Marks a recovered trial's resources as taken. */
  adopt(request: GangRequest, gpus: number[][]): void;
  release(trialId: number): void;
  /** Why each waiting gang waits, in words. */
  pendingReasons(): { trialId: number; reason: string }[];
  usage(): { cpu: number; memoryMb: number; gpus: number[]; queued: number; placed: number };
}

export class GangScheduler implements Placer {
  private readonly queue: (GangRequest & { seq: number })[] = [];
  private readonly placed = new Map<number, { request: GangRequest; gpus: number[] }>();
  private seq = 0;
  private usedCpu = 0;
  private usedMemoryMb = 0;
  private readonly freeGpus: Set<number>;

  constructor(
    private readonly node: NodeCapacity,
    private readonly host = '127.0.0.1',
  ) {
    this.freeGpus = new Set(node.gpus.map((g) => g.index));
  }

  /** Throws NeverFitsError, naming the shortfall, when the node could never hold the gang. */
  checkFits(executors: Resources[]): void {
    const total = sum(executors);
    const short: string[] = [];
    if (total.cpu > this.node.cpus) short.push(`cpu=${total.cpu} (node has ${this.node.cpus})`);
    if (total.memoryMb > this.node.memoryMb) short.push(`memory=${total.memoryMb}M (node has ${this.node.memoryMb}M)`);
    if (total.gpu > this.node.gpus.length) short.push(`gpu=${total.gpu} (node has ${this.node.gpus.length})`);
    if (short.length > 0) {
      throw new NeverFitsError(`The trial needs more than node ${this.node.name} has in total: ${short.join(', ')}. It can never be scheduled.`);
    }
  }

  /** Queues a trial; throws NeverFitsError when the node could never hold it. */
  enqueue(request: GangRequest): void {
    this.checkFits(request.executors);
    if (this.placed.has(request.trialId) || this.queue.some((q) => q.trialId === request.trialId)) return;
    this.queue.push({ ...request, seq: this.seq++ });
    this.queue.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
  }

  /** Places as many trials from the head of the queue as fit now, in order. */
  schedule(): Placement[] {
    const placements: Placement[] = [];
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const total = sum(head.executors);
      const fits =
        this.usedCpu + total.cpu <= this.node.cpus + 1e-9 &&
        this.usedMemoryMb + total.memoryMb <= this.node.memoryMb &&
        total.gpu <= this.freeGpus.size;
      if (!fits) break;
      this.queue.shift();
      const free = [...this.freeGpus].sort((a, b) => a - b);
      const gpus = head.executors.map((e) => free.splice(0, e.gpu));
      for (const g of gpus.flat()) this.freeGpus.delete(g);
      this.usedCpu += total.cpu;
      this.usedMemoryMb += total.memoryMb;
      this.placed.set(head.trialId, { request: head, gpus: gpus.flat() });
      placements.push({ trialId: head.trialId, node: this.node.name, host: this.host, gpus });
    }
    return placements;
  }

  /** Marks a trial's resources as taken without queueing (recovery of running trials). */
  adopt(request: GangRequest, gpus: number[][]): void {
    const total = sum(request.executors);
    this.usedCpu += total.cpu;
    this.usedMemoryMb += total.memoryMb;
    for (const g of gpus.flat()) this.freeGpus.delete(g);
    this.placed.set(request.trialId, { request, gpus: gpus.flat() });
  }

  /** Frees a placed trial's resources, or drops it from the queue. */
  release(trialId: number): void {
    const index = this.queue.findIndex((q) => q.trialId === trialId);
    if (index >= 0) this.queue.splice(index, 1);
    const placed = this.placed.get(trialId);
    if (!placed) return;
    this.placed.delete(trialId);
    const total = sum(placed.request.executors);
    this.usedCpu -= total.cpu;
    this.usedMemoryMb -= total.memoryMb;
    for (const g of placed.gpus) this.freeGpus.add(g);
  }

  /** Why each queued trial waits, in words: the head for capacity (what it needs, what is free), the rest behind it. */
  pendingReasons(): { trialId: number; reason: string }[] {
    const head = this.queue[0];
    if (!head) return [];
    const need = sum(head.executors);
    const short: string[] = [];
    const freeCpu = Math.max(0, this.node.cpus - this.usedCpu);
    const freeMemory = Math.max(0, this.node.memoryMb - this.usedMemoryMb);
    if (need.cpu > freeCpu + 1e-9) short.push(`cpu=${need.cpu} (${Number(freeCpu.toFixed(3))} free)`);
    if (need.memoryMb > freeMemory) short.push(`memory=${need.memoryMb}M (${freeMemory}M free)`);
    if (need.gpu > this.freeGpus.size) short.push(`gpu=${need.gpu} (${this.freeGpus.size} free)`);
    return this.queue.map((q, i) =>
      i === 0 ? { trialId: q.trialId, reason: `Waiting for capacity on ${this.node.name}: needs ${short.join(', ')}.` } : { trialId: q.trialId, reason: `Waiting behind ${i} trial${i === 1 ? '' : 's'} ahead of it in the queue.` },
    );
  }

  isQueued(trialId: number): boolean {
    return this.queue.some((q) => q.trialId === trialId);
  }

  usage(): { cpu: number; memoryMb: number; gpus: number[]; queued: number; placed: number } {
    const all = this.node.gpus.map((g) => g.index);
    return { cpu: this.usedCpu, memoryMb: this.usedMemoryMb, gpus: all.filter((g) => !this.freeGpus.has(g)), queued: this.queue.length, placed: this.placed.size };
  }
}

function sum(executors: Resources[]): Resources {
  return executors.reduce((t, e) => ({ cpu: t.cpu + e.cpu, memoryMb: t.memoryMb + e.memoryMb, gpu: t.gpu + e.gpu }), { cpu: 0, memoryMb: 0, gpu: 0 });
}
