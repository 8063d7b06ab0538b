import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { killQuietly, rssMb } from './processes.js';
import type { Scope } from './scope.js';

const SCRIPT = fileURLToPath(new URL('../bare-fastify.mjs', import.meta.url));

export interface BareServer {
  /** The URL of its one route. */
  url: string;
  pid: number;
  rssMb(): number | null;
}

/** Starts the bare Fastify baseline process; stopped when the scope closes. */
export async function startBareFastify(scope: Scope): Promise<BareServer> {
  const child = spawn(process.execPath, [SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  scope.defer(`bare fastify ${child.pid}`, async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    killQuietly(child.pid!, 'SIGKILL');
    await exited;
  });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (d: Buffer) => {
      output += d;
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) resolve(`${m[1]}/`);
    });
    child.on('exit', (code) => reject(new Error(`bare fastify exited with ${code}: ${output}`)));
  });
  return { url, pid: child.pid!, rssMb: () => rssMb(child.pid!) };
}
