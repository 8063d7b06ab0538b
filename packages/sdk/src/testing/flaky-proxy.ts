/**
 * A tiny HTTP front for a real server that misbehaves on purpose, one planned answer per request:
 * `503` answers Service Unavailable (with the envelope), `reset` drops the connection, `hang` never answers,
 * `pass` forwards to the real server. After the plan runs out every request passes.
 */
import { createServer, request as forward, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';

export type Step = '503' | 'reset' | 'hang' | 'pass';

export interface FlakyProxy {
  master: string;
  /** Method and path of every request received, in order. */
  received: string[];
  /** Resolves when the n-th request (1-based) has arrived. */
  arrived(n: number): Promise<void>;
}

export async function flakyProxy(target: string, plan: Step[]): Promise<FlakyProxy> {
  const received: string[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    for (const w of waiters.filter((w) => w.n <= received.length)) w.resolve();
    const step = plan[received.length - 1] ?? 'pass';
    if (step === '503') {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'SERVICE_UNAVAILABLE', code: 503, success: null, message: 'Restarting, try again.', result: null, attributes: {} }));
    } else if (step === 'reset') {
      req.socket.destroy();
    } else if (step === 'hang') {
      hanging.push(res);
    } else {
      pass(req, res, target);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return {
    master: `http://127.0.0.1:${port}`,
    received,
    arrived: (n) =>
      new Promise<void>((resolve) => {
        if (received.length >= n) resolve();
        else waiters.push({ n, resolve });
      }),
  };
}

function pass(req: IncomingMessage, res: ServerResponse, target: string): void {
  const url = new URL(req.url ?? '/', target);
  const upstream = forward(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
}
