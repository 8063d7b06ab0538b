#!/usr/bin/env node
// Builds the four published packages and packs each with `npm pack`:
//   @periscope/core, @periscope/sdk  JavaScript + .d.ts
//   @periscope/cli                   the bundled `periscope` binary
//   @periscope/server                the bundled server (`periscope-server`), the dashboard and the Python helper
// The workspace's package.json files point at the TypeScript sources and are private, so `npm publish` from a
// source folder refuses. The manifests published are written here, from those: one version for all (the root
// package.json's), dependencies on each other at that version, entry points in dist/, and only what runs.
//
//   node scripts/pack.mjs [--out DIR]      tarballs in DIR (default dist/packages), their paths on stdout
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { buildCli, buildLibrary } from './build-packages.mjs';
import { buildServer, serverDependencies } from './build-server.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const readJson = (path) => JSON.parse(readFileSync(join(ROOT, path), 'utf8'));
const ROOT_MANIFEST = readJson('package.json');
const VERSION = ROOT_MANIFEST.version;

/** Development-only packages that must never reach a published manifest. */
const TOOLING = new Set(['tsx', 'esbuild', 'typescript']);

/** `deps` without tooling, with every @periscope/ package at the one version. */
function pinned(deps = {}) {
  const out = {};
  for (const [name, range] of Object.entries(deps).sort(([a], [b]) => a.localeCompare(b))) {
    if (TOOLING.has(name)) continue;
    out[name] = name.startsWith('@periscope/') ? VERSION : range;
  }
  return out;
}

/** An exports entry for a library module at dist/<path>.js with its declarations beside it. */
const typed = (path, conditions = ['default']) => ({ types: `./dist/${path}.d.ts`, ...Object.fromEntries(conditions.map((condition) => [condition, `./dist/${path}.js`])) });

const PACKAGES = {
  core: (source) => ({
    exports: { '.': typed('index'), './determined': typed('search/determined-config'), './credentials': typed('credentials') },
    types: './dist/index.d.ts',
    sideEffects: false,
    dependencies: pinned(source.dependencies),
  }),
  sdk: (source) => ({
    // One build serves both: what only Node has (files, TLS options, the credentials file) is imported on first
    // use, so a browser bundle leaves it out. The training helper is for Node only.
    exports: { '.': typed('index', ['browser', 'node', 'default']), './training': typed('training', ['node']) },
    types: './dist/index.d.ts',
    sideEffects: false,
    dependencies: pinned(source.dependencies),
  }),
  cli: (source) => {
    const { '@periscope/server': _server, ...dependencies } = source.dependencies;
    return {
      bin: { periscope: './dist/periscope.mjs' },
      dependencies: pinned(dependencies),
      // `periscope server` runs the server package when it is installed beside the CLI; nothing else needs it.
      peerDependencies: { '@periscope/server': VERSION },
      peerDependenciesMeta: { '@periscope/server': { optional: true } },
    };
  },
  server: () => ({
    bin: { 'periscope-server': './dist/server.mjs' },
    exports: { '.': './dist/index.mjs', './package.json': './package.json' },
    dependencies: pinned(serverDependencies()),
  }),
};

/** Builds package `name` into stage/<name>: its files and its published manifest. */
async function stage(name, dir) {
  const source = readJson(`packages/${name}/package.json`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (name === 'core' || name === 'sdk') cpSync(await buildLibrary(name), join(dir, 'dist'), { recursive: true });
  if (name === 'cli') cpSync(await buildCli(), join(dir, 'dist'), { recursive: true });
  if (name === 'server') {
    await buildServer({ outdir: join(dir, 'dist'), library: true });
    await promisify(execFile)(process.execPath, [join(ROOT, 'scripts/build-web.mjs')], { cwd: ROOT });
    cpSync(join(ROOT, 'packages/web/dist'), join(dir, 'web'), { recursive: true });
    mkdirSync(join(dir, 'python'));
    cpSync(join(ROOT, 'python/periscope.py'), join(dir, 'python/periscope.py'));
  }
  for (const doc of [`packages/${name}/README.md`, 'CHANGELOG.md']) if (existsSync(join(ROOT, doc))) cpSync(join(ROOT, doc), join(dir, doc.split('/').at(-1)));
  const manifest = {
    name: source.name,
    version: VERSION,
    description: source.description,
    license: ROOT_MANIFEST.license,
    type: 'module',
    engines: ROOT_MANIFEST.engines,
    ...PACKAGES[name](source),
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Builds, stages and packs every package into `out`; answers the tarballs' paths (core, sdk, cli, server). */
export async function pack(out) {
  mkdirSync(out, { recursive: true });
  const tarballs = [];
  for (const name of Object.keys(PACKAGES)) {
    const dir = join(out, 'stage', name);
    await stage(name, dir);
    const { stdout } = await promisify(execFile)('npm', ['pack', '--json', '--pack-destination', out], { cwd: dir });
    tarballs.push(join(out, JSON.parse(stdout)[0].filename));
  }
  return tarballs;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let values;
  try {
    ({ values } = parseArgs({ options: { out: { type: 'string', default: join(ROOT, 'dist/packages') } } }));
  } catch (error) {
    console.error(`pack: ${error.message}\nusage: node scripts/pack.mjs [--out DIR]`);
    process.exit(2);
  }
  for (const tarball of await pack(resolve(values.out))) console.log(tarball);
}
