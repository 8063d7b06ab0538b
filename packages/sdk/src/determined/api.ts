/**
 * The calls behind the Determined-shaped references: JSON through the shared transport, plus the two raw
 * bodies JSON cannot carry (the code archive upload and the checkpoint download), sent by the same transport
 * (its fetch, token and TLS settings) and failing with the same `PeriscopeApiError`s.
 */
import type { Checkpoint as CheckpointInfo, Experiment, MetricReport, Trial } from '@periscope/core';
import { path, type ApiRequest, type CallOptions, type Transport } from '../transport.js';

export type MetricGroup = 'training' | 'validation';
export type OrderBy = 'asc' | 'desc';

export class DeterminedApi {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  get transport(): Transport {
    return this.#transport;
  }

  async result<T>(request: ApiRequest): Promise<T> {
    return (await this.#transport.call<T>(request)).result;
  }

  experiment(id: string, options: CallOptions = {}): Promise<Experiment> {
    return this.result<Experiment>({ method: 'GET', path: path`/experiment/${id}`, ...options });
  }

  trials(experimentId: string, options: CallOptions = {}): Promise<Trial[]> {
    return this.result<Trial[]>({ method: 'GET', path: path`/experiment/${experimentId}/trials`, ...options });
  }

  trial(id: number, options: CallOptions = {}): Promise<Trial> {
    return this.result<Trial>({ method: 'GET', path: path`/trials/${String(id)}`, ...options });
  }

  trialCheckpoints(trialId: number, query: { sortBy?: string; orderBy?: OrderBy }, options: CallOptions = {}): Promise<CheckpointInfo[]> {
    return this.result<CheckpointInfo[]>({ method: 'GET', path: path`/trials/${String(trialId)}/checkpoints`, query: { ...query }, ...options });
  }

  topCheckpoints(experimentId: string, query: { sortBy?: string; smallerIsBetter?: boolean; limit: number }, options: CallOptions = {}): Promise<CheckpointInfo[]> {
    return this.result<CheckpointInfo[]>({ method: 'GET', path: path`/experiment/${experimentId}/checkpoints/top`, query: { ...query }, ...options });
  }

  metrics(trialId: number, query: { group?: MetricGroup; limit?: number; afterSteps?: number }, options: CallOptions = {}): Promise<MetricReport[]> {
    return this.result<MetricReport[]>({ method: 'GET', path: path`/trials/${String(trialId)}/metrics`, query: { ...query }, ...options });
  }

  checkpoint(uuid: string, options: CallOptions = {}): Promise<CheckpointInfo> {
    return this.result<CheckpointInfo>({ method: 'GET', path: path`/checkpoints/${uuid}`, ...options });
  }

  /** `PUT /api/v1/code/{sha256}` with the archive as the raw body. */
  async uploadCode(sha256: string, archive: Uint8Array, options: CallOptions = {}): Promise<void> {
    await this.raw('PUT', path`/code/${sha256}`, options, { body: archive, contentType: 'application/gzip' });
  }

  /** The checkpoint's files as a tar archive (the whole body). */
  async downloadCheckpoint(uuid: string, options: CallOptions = {}): Promise<Uint8Array> {
    return this.raw('GET', path`/checkpoints/${uuid}/download`, options);
  }

  private raw(method: 'GET' | 'PUT', route: string, options: CallOptions, send?: { body: Uint8Array; contentType: string }): Promise<Uint8Array> {
    return this.#transport.raw(method, route, options, send);
  }
}
