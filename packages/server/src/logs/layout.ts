import { basename, dirname, join } from 'node:path';

export const STREAMS = ['stdout', 'stderr'] as const;
export type Stream = (typeof STREAMS)[number];

/**
 * Where an experiment's files live under the data dir. Ids and executor names are validated upstream
 * (experiment ids by pattern, executor names built from them and validated role names), so they are safe path
 * segments.
 */
export class DataLayout {
  constructor(readonly dataDir: string) {}

  /**
   * The server's own bookkeeping about an experiment's logs (chunk indexes), in a tree beside `logs/`, not in
   * the log dir an executor may vandalise. An executor running as the server's user could still derive and
   * reach it, so the tailer and the readers also tolerate whatever they find here (logs/line-reader.ts).
   */
  experimentIndex(experimentId: string): string {
    return join(this.dataDir, 'index', experimentId);
  }

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

  /** Where a delete moves an experiment's trees (one rename each, on the same disk) before removing them. */
  get trash(): string {
    return join(this.dataDir, 'trash');
  }

  experimentCheckpoints(experimentId: string): string {
    return join(this.dataDir, 'checkpoints', experimentId);
  }

  checkpointDir(experimentId: string, trialNumber: number): string {
    return join(this.experimentCheckpoints(experimentId), `trial-${trialNumber}`);
  }
}

/**
 * Where the server keeps the chunk indexes of the executor whose logs are in `executorDir`
 * (`<dataDir>/logs/<experiment>/<executor>` → `<dataDir>/index/<experiment>/<executor>`). Derived from the log dir
 * so every reader and the tailer agree without being told twice.
 */
export function indexDir(executorDir: string): string {
  const experimentDir = dirname(executorDir);
  return join(dirname(dirname(experimentDir)), 'index', basename(experimentDir), basename(executorDir));
}

/** A stream's chunk index: one `endOffset millis` line per chunk the server observed. */
export function indexPath(executorDir: string, stream: Stream): string {
  return join(indexDir(executorDir), `${stream}.idx`);
}

/** Where older servers kept the index, beside the stream file (read when the new one is missing). */
export function legacyIndexPath(executorDir: string, stream: Stream): string {
  return join(executorDir, `${stream}.idx`);
}

export function streamPath(executorDir: string, stream: Stream): string {
  return join(executorDir, stream);
}
