import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after } from 'node:test';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCredentials, tokenFor } from '@periscope/core';

export const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const LISTENING = /listening on (https?):\/\/([\d.]+):(\d+) \((.*)\)/;

export interface Started {
  child: ChildProcess;
  base: string;
  banner: string;
  /** The credentials file the server filed its first admin's token in. */
  credentials: string;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
}

/** The admin token each started server filed, by base URL (what `api` sends). */
const tokens = new Map<string, string>();
/** A restarted server files nothing (its admin exists): it is reached with the token filed for its data dir. */
const tokensByDataDir = new Map<string, string>();

/** The admin token `api` sends to a started server. */
export function tokenOf(base: string): string | undefined {
  return tokens.get(base);
}

/** Starts `periscope server` as a real process and resolves once it prints where it listens (no sleeping). */
export async function start(args: string[], env: Record<string, string> = {}, command: string[] = [process.execPath, '--import', 'tsx', MAIN]): Promise<Started> {
  const credentials = env.PERISCOPE_CREDENTIALS ?? join(mkdtempSync(join(tmpdir(), 'periscope-credentials-')), 'credentials');
  const child = spawn(command[0]!, [...command.slice(1), ...args], {
    env: { ...process.env, PERISCOPE_LOG_LEVEL: 'warn', PERISCOPE_CREDENTIALS: credentials, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a wrapper such as npm can be stopped together with the server it started.
    detached: true,
  });
  after(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  let output = '';
  child.stderr!.on('data', (d) => (output += d));
  return await new Promise<Started>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      output += d;
      const m = LISTENING.exec(output);
      if (!m) return;
      const base = `${m[1]}://${m[2]}:${m[3]}`;
      const filed = tokenFor(parseCredentials(existsSync(credentials) ? readFileSync(credentials, 'utf8') : undefined), base)?.token;
      const dataDir = args.includes('--data-dir') ? args[args.indexOf('--data-dir') + 1]! : (env.PERISCOPE_DATA_DIR ?? '');
      if (filed) tokensByDataDir.set(dataDir, filed);
      const token = filed ?? tokensByDataDir.get(dataDir);
      if (token) tokens.set(base, token);
      resolve({ child, base, banner: m[4]!, credentials, output: () => output });
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
}

/** Signals the server (or with `group`, every process of its group, e.g. npm and the server under it). */
export async function stop(started: Started, signal: NodeJS.Signals = 'SIGTERM', group = false): Promise<number | null> {
  if (group) process.kill(-started.child.pid!, signal);
  else started.child.kill(signal);
  const [code] = await once(started.child, 'exit');
  return code as number | null;
}

/** One API call against a started server; answers the envelope. */
export async function api(base: string, method: string, path: string, body?: unknown): Promise<any> {
  const token = tokens.get(base);
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token && { authorization: `Bearer ${token}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return response.json();
}
