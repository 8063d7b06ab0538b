/**
 * Test doors for the CLI: a real server in this process on a random port (fresh SQLite file and data dir),
 * and the real `periscope` binary run as a child process against it.
 *
 * Servers check tokens, as in production. This test process has its own credentials file (set once here as
 * `PERISCOPE_CREDENTIALS`, which every `periscope` child inherits), and each server started here files its
 * admin's token in it: a command acts as that admin unless a test says otherwise.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseCredentials, serializeCredentials, withToken } from '@periscope/core';
import { adminToken, createApp, type App, type AppOptions } from '@periscope/server';

export const BIN = fileURLToPath(new URL('../../bin/periscope.mjs', import.meta.url));

const credentialsDir = mkdtempSync(join(tmpdir(), 'periscope-cli-credentials-'));
/** This test process's credentials file. */
export const CREDENTIALS = join(credentialsDir, 'credentials');
process.env.PERISCOPE_CREDENTIALS = CREDENTIALS;
// Whoever runs the tests may have a user of their own set; the tests choose theirs explicitly.
delete process.env.PERISCOPE_USER;
after(() => rmSync(credentialsDir, { recursive: true, force: true }));

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'periscope-cli-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestServer {
  app: App;
  /** `http://127.0.0.1:<port>` (`https://` with `tls`). */
  master: string;
  /** A session token of the server's `admin`, also filed in the credentials file (unless auth is off). */
  token: string;
}

export async function startServer(options: Pick<AppOptions, 'auth' | 'tls'> = {}): Promise<TestServer> {
  const dir = tempDir();
  const app = await createApp({ database: join(dir, 'periscope.db'), dataDir: dir, graceMs: 1000, passwordCost: 1024, ...options });
  after(() => app.close());
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  const master = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(app.http.server.address() as AddressInfo).port}`;
  const token = await adminToken(app);
  if (options.auth !== 'none') fileToken(master, 'admin', token);
  return { app, master, token };
}

/** Files `token` as `user`'s at `master` in this process's credentials file, and makes `user` current there. */
export function fileToken(master: string, user: string, token: string): void {
  writeFileSync(CREDENTIALS, serializeCredentials(withToken(savedCredentials(), master, user, token)), { mode: 0o600 });
}

/** What this process's credentials file holds now. */
export function savedCredentials(): ReturnType<typeof parseCredentials> {
  return parseCredentials(existsSync(CREDENTIALS) ? readFileSync(CREDENTIALS, 'utf8') : undefined);
}

/** A URL where nothing listens: a port the OS just handed out and took back. */
export async function unusedMaster(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `periscope ...args` to its end (asynchronously: the in-process server must keep answering meanwhile).
 * PERISCOPE_MASTER is the given master unless `env` says otherwise; colour is never forced.
 */
export function periscope(args: string[], options: { master?: string; env?: Record<string, string | undefined>; input?: string } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: undefined, NO_COLOR: undefined, PERISCOPE_MASTER: options.master, ...options.env };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(options.input ?? '');
  });
}

/** Writes `content` to `name` in a fresh temp dir and returns its path. */
export function writeFile(name: string, content: string): string {
  const path = join(tempDir(), name);
  writeFileSync(path, content);
  return path;
}

/** No stack trace, no Node error dump: what a user must never see. */
export const STACK_TRACE = /\n\s+at |node:internal|Error: .*\n.*\^|\.ts:\d+:\d+/;

/** Runs the CLI and asserts it exited 0 without a stack trace; answers the run. */
export async function succeeds(args: string[], options: Parameters<typeof periscope>[1] = {}): Promise<Run> {
  const run = await periscope(args, options);
  assert.equal(run.code, 0, `periscope ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  assert.doesNotMatch(run.stderr, STACK_TRACE);
  return run;
}

/** Exit `code`, nothing on stdout, no trace, and exactly one newline-ended line on stderr matching `message`. */
export function oneLine(run: Run, code: number, message: RegExp): void {
  assert.equal(run.code, code, `exit code; stderr: ${run.stderr}`);
  assert.equal(run.stdout, '');
  assert.doesNotMatch(run.stderr, STACK_TRACE);
  assert.ok(run.stderr.endsWith('\n'), `stderr ends with a newline: ${JSON.stringify(run.stderr)}`);
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${run.stderr}`);
  assert.match(lines[0]!, message);
}

export interface Running {
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout matches `pattern`, or rejects after `timeoutMs`. */
  printed(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<Run>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `periscope ...args` and lets the test watch its output while it runs. */
export function startPeriscope(args: string[], options: { master?: string } = {}): Running {
  const env: NodeJS.ProcessEnv = { ...process.env, PERISCOPE_MASTER: options.master };
  delete env.FORCE_COLOR;
  delete env.NO_COLOR;
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  const watchers = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
    for (const w of watchers) w();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill: (signal) => void child.kill(signal),
    printed: (pattern, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pattern.test(stdout)) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`stdout never matched ${pattern} within ${timeoutMs} ms; stdout:\n${stdout}\nstderr:\n${stderr}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
        void exited.then(() => {
          if (watchers.has(check)) {
            cleanup();
            if (pattern.test(stdout)) resolve();
            else reject(new Error(`exited before stdout matched ${pattern}; stdout:\n${stdout}\nstderr:\n${stderr}`));
          }
        });
      }),
  };
}
