#!/usr/bin/env node
// Builds the dashboard (packages/web) into packages/web/dist, which the server serves at /. Skipped when the
// build is newer than every source it is made from (the dashboard's, the SDK's and core's), so `npm start`
// costs the build only after a change. `--force` builds anyway.
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const web = join(root, 'packages/web');
const dist = join(web, 'dist');
const sources = [join(web, 'src'), join(web, 'index.html'), join(web, 'vite.config.ts'), join(root, 'packages/sdk/src'), join(root, 'packages/core/src'), join(root, 'package-lock.json')];

function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const built = statSync(join(dist, 'index.html'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
if (!process.argv.includes('--force') && built > Math.max(...sources.map(newest))) process.exit(0);

const started = Date.now();
const { build } = await import('vite');
// Built beside the old one and swapped in, so a running server never serves half a build.
const next = `${dist}.${process.pid}.tmp`;
await build({ root: web, configFile: join(web, 'vite.config.ts'), logLevel: 'warn', build: { outDir: next, emptyOutDir: true } });
const old = `${dist}.${process.pid}.old`;
if (existsSync(dist)) renameSync(dist, old);
renameSync(next, dist);
rmSync(old, { recursive: true, force: true });
console.log(`built the dashboard in ${((Date.now() - started) / 1000).toFixed(1)} s (packages/web/dist)`);
