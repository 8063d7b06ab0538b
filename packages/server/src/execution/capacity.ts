import { execFile } from 'node:child_process';
import { arch, availableParallelism, hostname, platform, totalmem } from 'node:os';
import { promisify } from 'node:util';

export interface Gpu {
  index: number;
  name: string;
  memoryMb: number;
  uuid: string;
}

/** What one node offers the scheduler. */
export interface NodeCapacity {
  name: string;
  architecture: string;
  cpus: number;
  memoryMb: number;
  gpus: Gpu[];
  /** Properties roles can select the node by (`nodeSelector`). */
  labels: Record<string, string>;
  /** What a cluster engine says of the node (READY, DRAIN, DOWN…); absent: READY, as the local node always is. */
  state?: string;
  /** What is allocated on it now, as a cluster engine counts it; absent: the launcher's placer counts. */
  allocated?: { cpu: number; memoryMb: number; gpus: number[] };
}

/** Operator overrides of the detected capacity (config / flags). */
export interface CapacityOverrides {
  cpus?: number;
  memoryMb?: number;
  /** Pretend these GPU indices exist (or none, with an empty list), instead of asking nvidia-smi. */
  gpus?: number[];
  /** Extra node labels, added to the detected ones. */
  labels?: Record<string, string>;
}

const run = promisify(execFile);

/** GPUs from `nvidia-smi`, or none when it is absent or fails (no GPU is not an error). */
export async function detectGpus(nvidiaSmi = 'nvidia-smi'): Promise<Gpu[]> {
  try {
    const { stdout } = await run(nvidiaSmi, ['--query-gpu=index,name,memory.total,uuid', '--format=csv,noheader,nounits'], { timeout: 10_000 });
    return parseNvidiaSmi(stdout);
  } catch {
    return [];
  }
}

export function parseNvidiaSmi(csv: string): Gpu[] {
  return csv
    .split('\n')
    .map((line) => line.split(',').map((f) => f.trim()))
    .filter((fields) => fields.length >= 4 && /^\d+$/.test(fields[0]!))
    .map(([index, name, memory, uuid]) => ({ index: Number(index), name: name!, memoryMb: Number(memory) || 0, uuid: uuid! }));
}

export async function detectCapacity(overrides: CapacityOverrides = {}): Promise<NodeCapacity> {
  const gpus = overrides.gpus ? overrides.gpus.map((index) => ({ index, name: 'configured', memoryMb: 0, uuid: `configured-${index}` })) : await detectGpus();
  return {
    name: hostname(),
    architecture: arch(),
    cpus: overrides.cpus ?? availableParallelism(),
    memoryMb: overrides.memoryMb ?? Math.floor(totalmem() / 1024 / 1024),
    gpus,
    labels: { architecture: arch(), os: platform(), gpu: String(gpus.length > 0), launcher: 'local', ...overrides.labels },
  };
}
