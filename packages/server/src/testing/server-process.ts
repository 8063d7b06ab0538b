import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const LISTENING = /listening on http:\/\/([\d.]+):(\d+) \((.*)\)/;

export interface Started {
  child: ChildProcess;
  base: string;
  banner: string;
}

/** Starts `periscope server` as a real process and resolves once it prints where it listens (no sleeping). */
export async function start(args: string[], env: Record<string, string> = {}, command: string[] = [process.execPath, '--import', 'tsx', MAIN]): Promise<Started> {
  const child = spawn(command[0]!, [...command.slice(1), ...args], {
    env: { ...process.env, PERISCOPE_LOG_LEVEL: 'warn', ...env },
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
      if (m) resolve({ child, base: `http://${m[1]}:${m[2]}`, banner: m[3]! });
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
  const response = await fetch(`${base}${path}`, {
    method,
    ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return response.json();
}
