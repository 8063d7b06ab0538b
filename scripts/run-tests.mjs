#!/usr/bin/env node
// Runs every *.test.ts under packages/, bench/ and scripts/ with node's test runner (TypeScript through tsx).
// Node 20's runner takes no globs, so the files are listed here.
//
// Two lanes run side by side, a file at a time each: the CLI's files, and everything else. Every CLI call
// compiles TypeScript (until the CLI ships bundled), so two CLI files at once on a 2-core machine each take
// twice as long and come near the per-file time budget; one lane keeps them apart without slowing the rest.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) find(path, out);
    else if (entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const filter = process.argv.slice(2);
const files = ['packages', 'bench', 'scripts'].flatMap((dir) => find(dir)).filter((f) => filter.length === 0 || filter.some((p) => f.includes(p))).sort();
if (files.length === 0) {
  console.error(`no test files match ${filter.join(' ')}`);
  process.exit(1);
}
const cli = files.filter((f) => f.startsWith(join('packages', 'cli') + '/'));
const rest = files.filter((f) => !cli.includes(f));

function lane(laneFiles) {
  if (laneFiles.length === 0) return Promise.resolve(0);
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', '--test-timeout=120000', ...laneFiles], { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

const codes = await Promise.all([lane(cli), lane(rest)]);
process.exit(codes.some((code) => code !== 0) ? 1 : 0);
