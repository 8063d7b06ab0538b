import { type CallOptions, type Transport } from './transport.js';

/** A GPU of a node, as the launcher detected it. */
export interface NodeGpu {
  index: number;
  name: string;
  memoryMb: number;
  uuid: string;
}

/** A node executors can run on (`GET /api/v1/nodes`), with what is allocated on it now. */
export interface PeriscopeNode {
  name: string;
  /** e.g. `linux/amd64`. */
  architecture: string;
  cpus: number;
  memoryMb: number;
  gpus: NodeGpu[];
  /** Properties a role can select with `nodeSelector`, e.g. `{ gpu: 'true' }`. */
  labels: Record<string, string>;
  /** `READY` when it takes executors. */
  state: string;
  allocations: {
    cpu: number;
    memoryMb: number;
    /** Indexes of the GPUs in use. */
    gpus: number[];
    runningTrials: number;
    queuedTrials: number;
  };
}

export interface ListNodesOptions extends CallOptions {
  /**
   * Only nodes with this label value: `{ gpu: 'true' }` or the wire form `'gpu=true'`. The server filters
   * by one label; give one key.
   */
  label?: Record<string, string> | string;
}

/** Nodes: `periscope.nodes`. */
export class NodesClient {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  async list(options: ListNodesOptions = {}): Promise<PeriscopeNode[]> {
    const { label, ...call } = options;
    const answer = await this.#transport.call<PeriscopeNode[]>({ method: 'GET', path: '/nodes', query: { label: labelQuery(label) }, ...call });
    return answer.result;
  }
}

function labelQuery(label: ListNodesOptions['label']): string | undefined {
  if (label === undefined) return undefined;
  if (typeof label === 'string') {
    if (!/^[^=]+=/.test(label)) throw new TypeError(`label: "${label}" must be key=value`);
    return label;
  }
  const entries = Object.entries(label);
  if (entries.length !== 1) throw new TypeError(`label: give exactly one key (got ${entries.length})`);
  const [key, value] = entries[0]!;
  return `${key}=${value}`;
}
