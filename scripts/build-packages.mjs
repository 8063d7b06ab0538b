#!/usr/bin/env node
// Builds what the published packages run, into each package's dist/:
//   core, sdk  one .js per source file (ES modules, the sources' layout kept: the SDK loads its Node-only modules
//              by relative specifiers built at run time) and the .d.ts files tsc emits for them;
//   cli        one bundled file, dist/periscope.mjs: the CLI's own modules, with its dependencies left to
//              node_modules, so a call loads no TypeScript tooling and never the server.
// In the workspace nothing needs them: the package.json files there point at the sources, which run through tsx.
// `scripts/pack.mjs` builds with this (and the server with scripts/build-server.mjs), then writes the published
// manifests.
//
//   node scripts/build-packages.mjs [core] [sdk] [cli]   (all three without arguments)
import { execFile } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { SERVER_SHEBANG } from './node-flags.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/** The sources a library ships: every .ts under src/ but the tests, their helpers and the test doors (src/testing/). */
function librarySources(src) {
  const out = [];
  for (const entry of readdirSync(src, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    const inside = relative(src, path);
    if (!entry.isFile() || !entry.name.endsWith('.ts') || /\.test(-util)?\.ts$/.test(entry.name)) continue;
    if (inside.split('/')[0] === 'testing') continue;
    out.push(path);
  }
  return out.sort();
}

/** core or sdk: transpiled file by file (esbuild), declarations by tsc from packages/<name>/tsconfig.build.json. */
export async function buildLibrary(name) {
  const dir = join(ROOT, 'packages', name);
  const dist = join(dir, 'dist');
  rmSync(dist, { recursive: true, force: true });
  await build({
    entryPoints: librarySources(join(dir, 'src')),
    outdir: dist,
    outbase: join(dir, 'src'),
    bundle: false,
    platform: 'neutral',
    format: 'esm',
    target: 'es2022',
    logLevel: 'warning',
  });
  await promisify(execFile)(process.execPath, [TSC, '-p', join(dir, 'tsconfig.build.json')], { cwd: ROOT });
  return dist;
}

/** The CLI in one file. Its dependencies (the SDK, core, commander, yaml) and the server stay imports. */
export async function buildCli() {
  const dist = join(ROOT, 'packages/cli/dist');
  rmSync(dist, { recursive: true, force: true });
  await build({
    entryPoints: [join(ROOT, 'packages/cli/src/main.ts')],
    outfile: join(dist, 'periscope.mjs'),
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // `periscope server` runs the server in this process, so the CLI starts under the server's flags.
    banner: { js: SERVER_SHEBANG },
    logLevel: 'warning',
  });
  return dist;
}

const BUILDERS = { core: () => buildLibrary('core'), sdk: () => buildLibrary('sdk'), cli: buildCli };

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const names = process.argv.slice(2);
  const unknown = names.find((name) => !(name in BUILDERS));
  if (unknown) {
    console.error(`build-packages: no package ${unknown} (one of ${Object.keys(BUILDERS).join(', ')})`);
    process.exit(2);
  }
  for (const name of names.length ? names : Object.keys(BUILDERS)) await BUILDERS[name]();
}
