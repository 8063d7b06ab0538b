import { EnvironmentsClient } from './environments.js';
import { ExperimentsClient } from './experiments.js';
import { resolveOptions, type PeriscopeOptions, type ResolvedOptions } from './options.js';
import { Transport, type CallOptions } from './transport.js';

/**
 * The client: one connection (server URL, retries, timeouts, headers) shared by the resource sub-clients.
 *
 * ```ts
 * const periscope = new Periscope({ master: 'http://127.0.0.1:32080' });
 * const experiment = await periscope.experiments.create(spec);
 * const { status, logs } = await periscope.experiments.wait(experiment.experimentId);
 * ```
 */
export class Periscope {
  readonly experiments: ExperimentsClient;
  readonly environments: EnvironmentsClient;
  // Private, and so kept out of `console.log(client)`: the headers may hold credentials.
  readonly #options: ResolvedOptions;
  readonly #transport: Transport;

  constructor(options: PeriscopeOptions = {}) {
    this.#options = resolveOptions(options);
    this.#transport = new Transport(this.#options);
    this.experiments = new ExperimentsClient(this.#transport);
    this.environments = new EnvironmentsClient(this.#transport);
  }

  /** The server URL this client talks to. */
  get master(): string {
    return this.#options.master;
  }

  /** Resolves when the server answers `/api/v1/experiment/ping` (Submarine's connectivity check). */
  async ping(options: CallOptions = {}): Promise<void> {
    await this.#transport.call<string>({ method: 'GET', path: '/experiment/ping', ...options });
  }
}
