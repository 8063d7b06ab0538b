#!/usr/bin/env node
// Bundles the server's own TypeScript (and @periscope/core) into one ES module for `npm start`: a plain
// `node` process starts faster and idles in less memory than one transpiling on the fly. Third-party
// packages stay external and load from node_modules.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../packages/server/package.json', import.meta.url), 'utf8'));
const external = Object.keys(pkg.dependencies).filter((name) => !name.startsWith('@periscope/'));

const result = await build({
  entryPoints: [new URL('../packages/server/src/main.ts', import.meta.url).pathname],
  outfile: new URL('../packages/server/dist/server.mjs', import.meta.url).pathname,
  write: false,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: [...external, 'typebox'],
  sourcemap: 'linked',
  logLevel: 'warning',
});

// The local launcher's spawner runs as a process of its own, from a file beside the bundle (spawner.ts).
const spawner = new URL('../packages/server/src/execution/local/spawner-process.mjs', import.meta.url);
const files = [...result.outputFiles, { path: new URL('../packages/server/dist/spawner-process.mjs', import.meta.url).pathname, contents: readFileSync(spawner) }];

// Each file is written beside its place and renamed over it, so a server starting meanwhile never reads half a
// bundle (tests and `npm start` may build concurrently).
for (const file of files) {
  mkdirSync(dirname(file.path), { recursive: true });
  const temporary = `${file.path}.${process.pid}.tmp`;
  writeFileSync(temporary, file.contents);
  renameSync(temporary, file.path);
}
