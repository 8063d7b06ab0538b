/**
 * TLS settings beyond the system defaults (a CA file, another server name, no verification). Global fetch
 * takes none of them, so a client with any of them sends through undici's own fetch and an `Agent` that
 * holds them. Both are loaded on first use, by a specifier built at run time, so a browser bundle leaves out
 * undici and `node:fs`.
 */
import type { TlsOptions } from './tls-options.js';

export type { TlsOptions } from './tls-options.js';

type NodeTls = typeof import('./tls-node.js');

/** A fetch that connects with `tls`; rejects with a `TypeError` naming `certPath` when the file is unreadable. */
export async function tlsFetch(tls: TlsOptions): Promise<typeof fetch> {
  const specifier = ['.', 'tls-node.js'].join('/');
  let module: NodeTls;
  try {
    module = (await import(specifier)) as NodeTls;
  } catch (error) {
    throw new TypeError(`certPath, certName and noverify need Node.js (${(error as Error).message})`, { cause: error });
  }
  return module.undiciFetch(tls);
}
