/** What `GET /api/v1/health` answers when the server is healthy. */
export interface HealthReport {
  status: 'healthy';
  /** The server's version. */
  version: string;
  database: 'sqlite' | 'postgres' | string;
  launcher: {
    /** e.g. `local`. */
    kind: string;
    nodes: number;
    runningTrials: number;
    queuedTrials: number;
  };
  uptimeSeconds: number;
}
