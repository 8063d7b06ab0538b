/**
 * Loads the Node-only file helpers on first use. The specifier is built at run time so that a browser bundle of
 * the SDK leaves them (and `node:fs`, `tar`, `yaml`) out: there, file-based methods reject instead.
 */
type NodeFiles = typeof import('./node-files.js');

let loaded: Promise<NodeFiles> | undefined;

export function loadNodeFiles(): Promise<NodeFiles> {
  const specifier = ['.', 'node-files.js'].join('/');
  loaded ??= (import(specifier) as Promise<NodeFiles>).catch((error: unknown) => {
    loaded = undefined;
    throw new Error(`file-based SDK methods need Node.js (${(error as Error).message})`, { cause: error });
  });
  return loaded;
}
