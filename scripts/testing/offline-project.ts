// An empty project that installs Periscope's tarballs as a user would, but offline: its package-lock.json is cut
// from the workspace's (the same versions the suite tests, found in npm's cache by their integrity), so
// `npm ci --offline` needs no registry at all. Only the packages the tarballs' manifests need, and theirs, go in.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What a package-lock.json says of one package (the fields used here). */
interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  dev?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  [field: string]: unknown;
}

export interface Manifest {
  name: string;
  version: string;
  license?: string;
  private?: boolean;
  bin?: Record<string, string>;
  exports?: unknown;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, unknown>;
}

/** The manifest inside a tarball made by `npm pack`. */
export async function manifestOf(tarball: string): Promise<Manifest> {
  const { stdout } = await promisify(execFile)('tar', ['-xzOf', tarball, 'package/package.json'], { maxBuffer: 1 << 24 });
  return JSON.parse(stdout) as Manifest;
}

/** The sha512 integrity npm records for a file. */
function integrityOf(file: string): string {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/**
 * Where npm finds `name` for the package at lock path `from`: its own node_modules, then each parent's, then the
 * top level (the lockfile's paths are the tree itself).
 */
function locate(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (let dir = from; ; ) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir) return undefined;
    const cut = dir.lastIndexOf('/node_modules/');
    dir = cut < 0 ? '' : dir.slice(0, cut);
  }
}

/**
 * Creates `dir` as a project depending on `tarballs` and installs them with `npm ci --offline --ignore-scripts`.
 * Install scripts are skipped: better-sqlite3's would compile its addon again (minutes on two cores), so the
 * workspace's build of the same version is copied in instead.
 */
export async function installOffline(dir: string, tarballs: readonly string[], { extra = [] as readonly string[] } = {}): Promise<string> {
  const lock = (JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }).packages;
  mkdirSync(dir, { recursive: true });
  const packages: Record<string, LockEntry> = {};
  const wanted: Array<[from: string, name: string]> = [];
  const rootDependencies: Record<string, string> = {};
  for (const tarball of tarballs) {
    const manifest = await manifestOf(tarball);
    const local = join(dir, 'tarballs', basename(tarball));
    mkdirSync(join(dir, 'tarballs'), { recursive: true });
    cpSync(tarball, local);
    rootDependencies[manifest.name] = `file:tarballs/${basename(tarball)}`;
    packages[`node_modules/${manifest.name}`] = {
      version: manifest.version,
      resolved: `file:tarballs/${basename(tarball)}`,
      integrity: integrityOf(local),
      license: manifest.license,
      dependencies: manifest.dependencies,
      ...(manifest.bin ? { bin: manifest.bin } : {}),
      ...(manifest.peerDependencies ? { peerDependencies: manifest.peerDependencies, peerDependenciesMeta: manifest.peerDependenciesMeta } : {}),
    };
    for (const name of Object.keys(manifest.dependencies ?? {})) wanted.push(['', name]);
  }
  for (const name of extra) {
    const entry = lock[`node_modules/${name}`];
    if (!entry?.version) throw new Error(`${name} is not in the workspace's package-lock.json`);
    rootDependencies[name] = entry.version;
    wanted.push(['', name]);
  }
  while (wanted.length > 0) {
    const [from, name] = wanted.pop()!;
    if (name.startsWith('@periscope/')) continue;
    const path = locate(lock, from, name);
    if (!path) throw new Error(`${name} (needed by ${from || 'the project'}) is not in the workspace's package-lock.json`);
    if (packages[path]) continue;
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = lock[path]!;
    packages[path] = entry;
    for (const next of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) wanted.push([path, next]);
  }
  const manifest = { name: 'periscope-install-check', version: '1.0.0', private: true, type: 'module', dependencies: rootDependencies };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const lockfile = { name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages: { '': { name: manifest.name, version: manifest.version, dependencies: rootDependencies }, ...packages } };
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(lockfile, null, 2)}\n`);
  await promisify(execFile)('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir });
  if (packages['node_modules/better-sqlite3']) {
    cpSync(join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'), join(dir, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'));
  }
  return dir;
}
