/**
 * A real Periscope server for tests: the Fastify app on a fresh SQLite file and data dir, listening on a random
 * port of 127.0.0.1, closed (and its files removed) after the test or file that started it.
 *
 * Servers check tokens, as in production. Each test process has its own credentials file (named by
 * `PERISCOPE_CREDENTIALS`, set here once), and every server started here files its admin's token in it, so a
 * plain `new Periscope({ master })` acts as that admin through the SDK's ordinary credentials-file path.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { parseCredentials, serializeCredentials, tokenFor, withToken } from '@periscope/core';
import { adminToken, createApp, type App, type AppOptions } from '@periscope/server';

const credentialsDir = mkdtempSync(join(tmpdir(), 'periscope-sdk-credentials-'));
/** This test process's credentials file. */
export const CREDENTIALS = join(credentialsDir, 'credentials');
process.env.PERISCOPE_CREDENTIALS = CREDENTIALS;
// Whoever runs the tests may have a user of their own set; the tests choose theirs explicitly.
delete process.env.PERISCOPE_USER;
after(() => rmSync(credentialsDir, { recursive: true, force: true }));

export interface TestServer {
  app: App;
  /** `http://127.0.0.1:<port>` (`https://` with `tls`). */
  master: string;
  /** A session token of the server's `admin` (filed in the credentials file too, unless auth is off). */
  token: string;
}

export async function startServer(options: Partial<AppOptions> = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'periscope-sdk-test-'));
  // A short SIGTERM → SIGKILL grace keeps cancel and delete of stubborn test jobs quick.
  const app = await createApp({ database: join(dir, 'periscope.db'), dataDir: dir, graceMs: 1000, passwordCost: 1024, ...options });
  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.http.server.address() as AddressInfo;
  const master = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const token = await adminToken(app);
  if (options.auth !== 'none') fileToken(master, 'admin', token);
  return { app, master, token };
}

/** Files `token` as `user`'s at `master` in this process's credentials file, and makes `user` current there. */
export function fileToken(master: string, user: string, token: string): void {
  const file = parseCredentials(existsSync(CREDENTIALS) ? readFileSync(CREDENTIALS, 'utf8') : undefined);
  writeFileSync(CREDENTIALS, serializeCredentials(withToken(file, master, user, token)), { mode: 0o600 });
}

/** Files the current login at `from` under `to` too (a proxy in front of a server). */
export function shareLogin(from: string, to: string): void {
  const file = parseCredentials(existsSync(CREDENTIALS) ? readFileSync(CREDENTIALS, 'utf8') : undefined);
  const login = tokenFor(file, from);
  if (login) fileToken(to, login.user, login.token);
}

/** A URL where nothing listens: a port the OS just handed out and took back. */
export async function unusedMaster(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/**
 * A Submarine spec with the given roles (`{ Master: 1, Worker: 2 }`) that is stored but not started
 * (`autoStart: false`), so its status stays Accepted while a test looks at it.
 */
export function parkedSpec(name: string, roles: Record<string, number> = { Worker: 1 }, framework = 'PyTorch') {
  return {
    meta: { name, namespace: 'default', framework, cmd: 'python train.py', envVars: { EPOCHS: '1' } },
    environment: { image: 'python:3.12' },
    spec: Object.fromEntries(
      Object.entries(roles).map(([role, replicas]) => [role, { replicas, resources: 'cpu=1,memory=512M' }]),
    ),
    autoStart: false,
  };
}

/** A spec that runs now: each role runs its shell command (one replica each, unless `replicas` says more). */
export function jobSpec(name: string, cmds: Record<string, string>, framework = 'Custom', replicas = 1) {
  return {
    meta: { name, framework, cmd: 'true' },
    spec: Object.fromEntries(Object.entries(cmds).map(([role, cmd]) => [role, { replicas, cmd, resources: 'cpu=0.1,memory=64M' }])),
  };
}

/** A fresh directory, removed after the test file. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'periscope-sdk-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Calls `check` until it answers something truthy (which it returns), or fails naming `what` after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | false | null | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A named pipe: a job that reads it blocks until the test opens (and closes) it for writing. */
export function fifo(name = 'gate'): { path: string; open(): Promise<void> } {
  const path = join(tempDir(), name);
  execFileSync('mkfifo', [path]);
  return {
    path,
    // Asynchronously: opening a FIFO for writing blocks until its reader comes, and must not block this process.
    open: async () => {
      const handle = await open(path, 'w');
      await handle.close();
    },
  };
}
