/**
 * A cancel, a delete, or a cancel of a prepared experiment while its code is being cloned from a slow git
 * server answers at once: the clone is killed (its whole process group), and the experiment's command never
 * starts, even once the server would have answered.
 *
 * The slow server is a gate in front of a real git http-backend: it holds every request until the test opens
 * it. The answers are judged by ordering: each must arrive while the gate is still closed. (Should one not
 * come, the gate is opened after a while so the old behaviour shows as a failed assertion, not a hang.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { call, create, testApp } from '../testing/app.js';
import { eventually, tempDir } from '../testing/databases.js';
import { gitHttpServer } from '../testing/git-server.js';

function makeRepository(): string {
  const repo = join(tempDir(), 'repo');
  mkdirSync(repo);
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd: repo });
  git('init', '--quiet', '--initial-branch=main');
  writeFileSync(join(repo, 'train.py'), 'print("hello")\n');
  git('add', '.');
  git('commit', '--quiet', '-m', 'main');
  return repo;
}

interface Gate {
  url: string;
  /** Requests received (held or passed on). */
  received(): number;
  isOpen(): boolean;
  /** Passes every held and later request on to the real server. */
  open(): void;
}

/** An HTTP proxy to `upstream` that holds every request until `open()`. */
async function gate(upstream: string): Promise<Gate> {
  const target = new URL(upstream);
  const held: Array<() => void> = [];
  let received = 0;
  let opened = false;
  const forward = (request: IncomingMessage, response: ServerResponse) => {
    const out = httpRequest({ host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    out.on('error', () => response.destroy());
    request.pipe(out);
  };
  const server = createServer((request, response) => {
    received++;
    if (opened) forward(request, response);
    else held.push(() => forward(request, response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${target.pathname}`,
    received: () => received,
    isOpen: () => opened,
    open() {
      opened = true;
      for (const release of held.splice(0)) release();
    },
  };
}

/** Live `git clone` processes whose arguments mention `fragment` (the experiment id is in the work dir). */
function clonesMentioning(fragment: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      const state = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]?.[0];
      if (state !== 'Z' && argv.includes('clone') && argv.some((arg) => arg.includes(fragment))) pids.push(Number(name));
    } catch {
      // Gone while looking.
    }
  }
  return pids;
}

/** Opens the gate after a while, so a cancel that waits for the clone ends (and fails the test) instead of hanging. */
function openEventually(slow: Gate): () => void {
  const timer = setTimeout(() => slow.open(), 20_000);
  return () => clearTimeout(timer);
}

describe('cancel during a slow git clone', () => {
  const repo = makeRepository();

  for (const how of ['cancel', 'delete', 'cancel of a prepared experiment'] as const) {
    it(`${how} answers while the clone is held, kills the clone, and the command never starts`, async () => {
      const upstream = await gitHttpServer(repo, tempDir(), 'bot', 'secret-pw');
      const slow = await gate(upstream.url);
      const app = await testApp(join(tempDir(), 'periscope.db'), { capacity: { cpus: 4, memoryMb: 4096, gpus: [] } });
      const marker = join(tempDir(), 'started');
      const id = await create(app, {
        autoStart: how !== 'cancel of a prepared experiment',
        meta: { name: 'slow-clone', framework: 'Custom', cmd: `touch '${marker}'` },
        spec: { Worker: { replicas: 1, resources: 'cpu=0.1,memory=64M' } },
        code: { syncMode: 'git', git: { url: slow.url, username: 'bot', password: 'secret-pw' } },
      });
      // git is mid-clone: its first request is held.
      await eventually('the clone to reach the slow server', () => slow.received() > 0 && clonesMentioning(id).length > 0);

      const stop = openEventually(slow);
      const answer = how === 'delete' ? await call(app, 'DELETE', `/api/v1/experiment/${id}`) : await call(app, 'POST', `/api/v1/experiment/${id}/cancel`);
      const gateWasOpen = slow.isOpen();
      stop();
      assert.equal(answer.status, 200, answer.body.message);
      assert.equal(gateWasOpen, false, 'the answer came only after the slow server let the clone through');
      await eventually('the clone to be killed', () => clonesMentioning(id).length === 0, 5_000);

      if (how !== 'delete') {
        const trials = await call(app, 'GET', `/api/v1/experiment/${id}/trials`);
        assert.equal(trials.body.result[0].state, 'Canceled');
        assert.equal(trials.body.result[0].executors[0].startedAt ?? null, null);
      }
      // Nothing starts afterwards either: let the slow server answer, and see that no clone runs and the trial stays canceled.
      slow.open();
      const started = await call(app, 'POST', `/api/v1/experiment/${id}/start`);
      assert.notEqual(started.status, 200, 'a canceled experiment does not start');
      assert.equal(clonesMentioning(id).length, 0);
      assert.equal(existsSync(marker), false, "the canceled experiment's command ran");
    });
  }
});
