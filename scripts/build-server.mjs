#!/usr/bin/env node
// Bundles the server's own TypeScript (and @periscope/core) for plain `node`: a process that does not transpile
// on the fly starts faster and idles in less memory. Third-party packages stay external and load from
// node_modules, except the few in BUNDLED_DEPENDENCIES.
//
// Run as a script (`npm start` does), it writes packages/server/dist/server.mjs. `scripts/pack.mjs` calls
// `buildServer` for the published package: there `index.mjs` (what `periscope server` imports) is built beside
// `server.mjs` (the `periscope-server` binary), sharing chunks, and without source maps.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { SERVER_SHEBANG } from './node-flags.mjs';

const SERVER = fileURLToPath(new URL('../packages/server/', import.meta.url));

/**
 * Pure-ESM packages of hundreds of small modules, bundled (and tree-shaken) rather than loaded from node_modules:
 * each module a process loads keeps its source text and its module record for the process's life, and these two
 * were ~10 MB of an idle server's 105 MB (bench/README.md, idle RSS). The CommonJS ones (Fastify's) stay
 * external: an ESM bundle cannot `require` them.
 */
const BUNDLED_DEPENDENCIES = new Set(['kysely', 'typebox']);

/** The third-party packages the built server loads at run time (what its published package depends on). */
export function serverDependencies() {
  const manifest = (dir) => JSON.parse(readFileSync(join(SERVER, '..', dir, 'package.json'), 'utf8'));
  const own = manifest('server').dependencies;
  const core = manifest('core').dependencies;
  const all = { ...core, ...own };
  for (const name of Object.keys(all)) if (name.startsWith('@periscope/') || BUNDLED_DEPENDENCIES.has(name)) delete all[name];
  return all;
}

export async function buildServer({ outdir = join(SERVER, 'dist'), library = false } = {}) {
  const result = await build({
    entryPoints: library ? { server: join(SERVER, 'src/main.ts'), index: join(SERVER, 'src/index.ts') } : { server: join(SERVER, 'src/main.ts') },
    outdir,
    outExtension: { '.js': '.mjs' },
    // Chunks sit beside the entries: modules find package.json, web/ and the spawner relative to themselves.
    splitting: library,
    write: false,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: Object.keys(serverDependencies()),
    banner: library ? { js: SERVER_SHEBANG } : {},
    sourcemap: library ? false : 'linked',
    logLevel: 'warning',
  });

  // The local launcher's spawner runs as a process of its own, from a file beside the bundle (spawner.ts).
  const spawner = join(SERVER, 'src/execution/local/spawner-process.mjs');
  const files = [...result.outputFiles, { path: join(outdir, 'spawner-process.mjs'), contents: readFileSync(spawner) }];

  // Each file is written beside its place and renamed over it, so a server starting meanwhile never reads half a
  // bundle (tests and `npm start` may build concurrently).
  for (const file of files) {
    mkdirSync(dirname(file.path), { recursive: true });
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildServer();
