/**
 * A tiny HTTP front for a real server that misbehaves on purpose, one planned answer per request:
 * `503` answers Service Unavailable (with the envelope), `404` answers Not Found (as a server without the
 * route does), `reset` drops the connection, `hang` never answers, `lose` forwards the request and drops the
 * connection once the server has answered (the server acted; the client never hears of it), `cut` forwards
 * and relays the answer's headers and first chunk of body, then drops the connection (a stream broken
 * mid-way), `pass` forwards to the real server. The plan is a list (request n gets step n; after it runs out
 * every request passes) or a function of the request. The target's saved login is filed for the proxy too.
 */
import { createServer, request as forward, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';
import { shareLogin } from './server.js';

export type Step = '503' | '404' | 'reset' | 'hang' | 'lose' | 'cut' | 'pass';

/** Chooses the step for a request: `n` is its 1-based number, `url` its path and query. */
export type Plan = Step[] | ((request: { method: string; url: string; n: number }) => Step);

export interface FlakyProxy {
  master: string;
  /** Method and path of every request received, in order. */
  received: string[];
  /** Resolves when the n-th request (1-based) has arrived. */
  arrived(n: number): Promise<void>;
}

export async function flakyProxy(target: string, plan: Plan): Promise<FlakyProxy> {
  const received: string[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    for (const w of waiters.filter((w) => w.n <= received.length)) w.resolve();
    const n = received.length;
    const step = typeof plan === 'function' ? plan({ method: req.method ?? 'GET', url: req.url ?? '/', n }) : (plan[n - 1] ?? 'pass');
    if (step === '503') {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'SERVICE_UNAVAILABLE', code: 503, success: null, message: 'Restarting, try again.', result: null, attributes: {} }));
    } else if (step === '404') {
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'NOT_FOUND', code: 404, success: null, message: 'HTTP 404 Not Found', result: null, attributes: {} }));
    } else if (step === 'lose' || step === 'cut') {
      pass(req, res, target, step);
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
  const master = `http://127.0.0.1:${port}`;
  // Clients of the proxy act as the server's admin, as clients of the server do.
  shareLogin(target, master);
  return {
    master,
    received,
    arrived: (n) =>
      new Promise<void>((resolve) => {
        if (received.length >= n) resolve();
        else waiters.push({ n, resolve });
      }),
  };
}

function pass(req: IncomingMessage, res: ServerResponse, target: string, mode: 'pass' | 'lose' | 'cut' = 'pass'): void {
  const url = new URL(req.url ?? '/', target);
  const upstream = forward(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (answer) => {
    if (mode === 'lose') {
      answer.resume();
      res.socket?.destroy();
      return;
    }
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    if (mode === 'cut') {
      answer.once('data', (chunk: Buffer) => {
        res.write(chunk, () => {
          answer.destroy();
          res.socket?.destroy();
        });
      });
      return;
    }
    answer.pipe(res);
  });
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
}
