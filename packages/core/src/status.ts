/**
 * The canonical experiment status and how each face (Submarine, netunicorn, Determined) names it.
 * One table, so a new status cannot be added without deciding what every face shows.
 */
export const EXPERIMENT_STATUSES = [
  'Accepted',
  'Preparing',
  'Ready',
  'Running',
  'Succeeded',
  'Failed',
  'Canceled',
  'Deleted',
] as const;
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];

export const SUBMARINE_STATUSES = ['Accepted', 'Created', 'Running', 'Succeeded', 'Failed', 'Deleted'] as const;
export type SubmarineStatus = (typeof SUBMARINE_STATUSES)[number];
export type NetunicornStatus = 'UNKNOWN' | 'PREPARING' | 'READY' | 'RUNNING' | 'FINISHED';
/** Determined's experimentv1State without its `STATE_` prefix (what its REST API sends). */
export type DeterminedState = 'QUEUED' | 'STARTING' | 'RUNNING' | 'PAUSED' | 'COMPLETED' | 'CANCELED' | 'ERROR' | 'DELETED';

interface Faces {
  submarine: SubmarineStatus;
  netunicorn: NetunicornStatus;
  determined: DeterminedState;
  terminal: boolean;
}

export const STATUS_TABLE: Readonly<Record<ExperimentStatus, Faces>> = {
  Accepted: { submarine: 'Accepted', netunicorn: 'PREPARING', determined: 'QUEUED', terminal: false },
  Preparing: { submarine: 'Created', netunicorn: 'PREPARING', determined: 'STARTING', terminal: false },
  // Prepared and waiting for an explicit start: Determined shows a not-yet-activated experiment as PAUSED.
  Ready: { submarine: 'Created', netunicorn: 'READY', determined: 'PAUSED', terminal: false },
  Running: { submarine: 'Running', netunicorn: 'RUNNING', determined: 'RUNNING', terminal: false },
  Succeeded: { submarine: 'Succeeded', netunicorn: 'FINISHED', determined: 'COMPLETED', terminal: true },
  Failed: { submarine: 'Failed', netunicorn: 'FINISHED', determined: 'ERROR', terminal: true },
  // Submarine has no cancel; a canceled job is a failed one there.
  Canceled: { submarine: 'Failed', netunicorn: 'FINISHED', determined: 'CANCELED', terminal: true },
  Deleted: { submarine: 'Deleted', netunicorn: 'UNKNOWN', determined: 'DELETED', terminal: true },
};

export function toSubmarineStatus(status: ExperimentStatus): SubmarineStatus {
  return STATUS_TABLE[status].submarine;
}

/** The state the Determined face answers (`STATE_RUNNING`…); the SDK's wait() ends on the terminal ones. */
export function toDeterminedState(status: ExperimentStatus): `STATE_${DeterminedState}` {
  return `STATE_${STATUS_TABLE[status].determined}`;
}

export function isTerminal(status: ExperimentStatus): boolean {
  return STATUS_TABLE[status].terminal;
}

/** Canonical statuses that a Submarine status name (any case) stands for, or undefined for an unknown name. */
export function canonicalOfSubmarine(name: string): ExperimentStatus[] | undefined {
  const wanted = SUBMARINE_STATUSES.find((s) => s.toLowerCase() === name.trim().toLowerCase());
  if (!wanted) return undefined;
  return EXPERIMENT_STATUSES.filter((s) => STATUS_TABLE[s].submarine === wanted);
}
