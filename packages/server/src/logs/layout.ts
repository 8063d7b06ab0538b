import { join } from 'node:path';

export const STREAMS = ['stdout', 'stderr'] as const;
export type Stream = (typeof STREAMS)[number];

/**
 * Where an experiment's files live under the data dir. Ids and executor names are validated upstream
 * (experiment ids by pattern, executor names built from them and validated role names), so they are safe path
 * segments.
 */
export class DataLayout {
  constructor(readonly dataDir: string) {}

  experimentLogs(experimentId: string): string {
    return join(this.dataDir, 'logs', experimentId);
  }

  executorLogs(experimentId: string, executor: string): string {
    return join(this.experimentLogs(experimentId), executor);
  }

  workDir(experimentId: string, trialNumber: number): string {
    return join(this.dataDir, 'work', experimentId, `trial-${trialNumber}`);
  }

  experimentWork(experimentId: string): string {
    return join(this.dataDir, 'work', experimentId);
  }

  checkpointDir(experimentId: string, trialNumber: number): string {
    return join(this.dataDir, 'checkpoints', experimentId, `trial-${trialNumber}`);
  }
}

/** The chunk index beside each stream file: one `endOffset millis` line per chunk the server observed. */
export function indexPath(executorDir: string, stream: Stream): string {
  return join(executorDir, `${stream}.idx`);
}

export function streamPath(executorDir: string, stream: Stream): string {
  return join(executorDir, stream);
}
