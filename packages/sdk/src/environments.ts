import type { Environment, EnvironmentSpec } from '@periscope/core';
import { path, type CallOptions, type Transport } from './transport.js';

/** What creating an environment takes: a spec with its (unique) name. */
export type CreateEnvironmentInput = EnvironmentSpec & { name: string };

/** Stored environments (`periscope.environments`), keyed by name as in Submarine. */
export class EnvironmentsClient {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** Rejects with CONFLICT when the name is taken. */
  async create(spec: CreateEnvironmentInput, options: CallOptions = {}): Promise<Environment> {
    return this.result({ method: 'POST', path: '/environment', body: spec, ...options });
  }

  async get(name: string, options: CallOptions = {}): Promise<Environment> {
    return this.result({ method: 'GET', path: path`/environment/${name}`, ...options });
  }

  async list(options: CallOptions = {}): Promise<Environment[]> {
    return this.result({ method: 'GET', path: '/environment', ...options });
  }

  /** Replaces the spec of the environment `name` (renaming is not supported). */
  async update(name: string, spec: EnvironmentSpec, options: CallOptions = {}): Promise<Environment> {
    return this.result({ method: 'PATCH', path: path`/environment/${name}`, body: spec, ...options });
  }

  async delete(name: string, options: CallOptions = {}): Promise<Environment> {
    return this.result({ method: 'DELETE', path: path`/environment/${name}`, ...options });
  }

  private async result<T>(request: Parameters<Transport['call']>[0]): Promise<T> {
    return (await this.#transport.call<T>(request)).result;
  }
}
