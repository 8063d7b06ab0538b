import { ValidationError } from './errors.js';

/** Numeric form of a resource request, what the scheduler compares against capacity. */
export interface Resources {
  /** CPU cores; fractions allowed (`cpu=0.5`). */
  cpu: number;
  /** Memory in MiB. */
  memoryMb: number;
  /** Whole GPUs. */
  gpu: number;
}

export interface ParsedResources {
  /** Submarine's echo: every `key=value` item verbatim, in the order given. */
  resourceMap: Record<string, string>;
  resources: Resources;
}

const MEMORY = /^(\d+(?:\.\d+)?)\s*(K|Ki|M|Mi|G|Gi|T|Ti)?$/;
const MIB_PER_UNIT: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };
const KNOWN_KEYS = new Set(['cpu', 'memory', 'gpu', 'nvidia.com/gpu']);

/**
 * Parses `cpu=1,memory=1024M,gpu=1` (also `nvidia.com/gpu=1`, `memory=4G|4Gi`).
 * Submarine silently drops malformed items; we refuse them, quoting the item, so a typo never becomes a
 * request for zero resources. `M` and `G` follow Submarine/Kubernetes usage in ML specs, where `1024M` means
 * 1024 MiB, so plain suffixes are read as binary units (the decimal reading would surprise those users).
 */
export function parseResources(text: string | null | undefined, field = 'resources'): ParsedResources {
  const resourceMap: Record<string, string> = {};
  const resources: Resources = { cpu: 0, memoryMb: 0, gpu: 0 };
  if (text == null || text.trim() === '') return { resourceMap, resources };
  for (const rawItem of text.split(',')) {
    if (rawItem.trim() === '') continue; // a trailing comma is harmless, as in Submarine
    const parts = rawItem.split('=');
    if (parts.length !== 2 || parts[0]!.trim() === '' || parts[1]!.trim() === '') {
      throw new ValidationError(`${field}: malformed item "${rawItem}" (expected key=value, e.g. cpu=1,memory=1024M)`, field);
    }
    const key = parts[0]!.trim();
    const value = parts[1]!.trim();
    if (!KNOWN_KEYS.has(key)) {
      throw new ValidationError(`${field}: unknown resource "${key}" in "${rawItem}" (known: cpu, memory, gpu, nvidia.com/gpu)`, field);
    }
    if (key in resourceMap || (isGpu(key) && Object.keys(resourceMap).some(isGpu))) {
      throw new ValidationError(`${field}: resource "${key}" given twice`, field);
    }
    resourceMap[key] = value;
    if (key === 'cpu') resources.cpu = parseCpu(value, field);
    else if (key === 'memory') resources.memoryMb = parseMemoryMb(value, field);
    else resources.gpu = parseGpu(value, field);
  }
  return { resourceMap, resources };
}

function isGpu(key: string): boolean {
  return key === 'gpu' || key === 'nvidia.com/gpu';
}

function parseCpu(value: string, field: string): number {
  // Kubernetes millicores (`500m`) are common in copied specs.
  const milli = /^(\d+)m$/.exec(value);
  const cpu = milli ? Number(milli[1]) / 1000 : /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(cpu) || cpu <= 0) {
    throw new ValidationError(`${field}: cpu must be a positive number, got "${value}"`, field);
  }
  return cpu;
}

export function parseMemoryMb(value: string, field = 'memory'): number {
  const m = MEMORY.exec(value);
  if (!m) {
    throw new ValidationError(`${field}: memory must be a number with an optional unit (M, Mi, G, Gi, T, Ti), got "${value}"`, field);
  }
  // See parseResources: `G` and `Gi` both mean GiB; a bare number means MiB.
  const mb = Number(m[1]) * MIB_PER_UNIT[(m[2] ?? 'M')[0]!]!;
  if (!(mb > 0)) throw new ValidationError(`${field}: memory must be positive, got "${value}"`, field);
  return Math.ceil(mb);
}

function parseGpu(value: string, field: string): number {
  if (!/^\d+$/.test(value)) throw new ValidationError(`${field}: gpu must be a whole number, got "${value}"`, field);
  return Number(value);
}
