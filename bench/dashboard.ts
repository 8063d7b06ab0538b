/**
 * 10. The web dashboard: its JavaScript's gzip size (all chunks, and what the first page loads), the first paint
 * and the first rows of the experiments page on a cold load (fresh browser context) with 100k experiments
 * stored (baseline: the first paint of a bare Fastify text page in the same browser), and how long a status
 * change takes from the server recording it to the page showing it (baseline: the same change heard by a bare
 * SSE reader of the live feed in Node).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { startBareFastify } from './lib/bare.js';
import { api, authHeaders, spec } from './lib/client.js';
import type { Benchmark } from './lib/context.js';
import { populate } from './lib/load.js';
import { row, unavailable, type Row } from './lib/report.js';
import { startServer } from './lib/server.js';
import { streamEvents } from './lib/sse.js';
import { percentile } from './lib/stats.js';

const NAME = '10 dashboard';
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'packages/web/dist');
const CHROMIUM = process.env.PERISCOPE_TEST_CHROMIUM ?? '/usr/bin/chromium';

export const dashboard: Benchmark = {
  name: 'dashboard',
  title: 'Web dashboard',
  async run(ctx, scope) {
    const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build-web.mjs')], { stdio: 'inherit' });
    if (built.status !== 0) throw new Error(`scripts/build-web.mjs exited with ${built.status}`);
    const rows: Row[] = bundleRows();
    if (!existsSync(CHROMIUM)) {
      const note = `no Chromium at ${CHROMIUM}`;
      return [...rows, unavailable(NAME, 'experiments page first paint, cold', 'ms', note), unavailable(NAME, 'status change → page', 'ms', note)];
    }
    const stored = ctx.quick ? 1_000 : 100_000;
    const [server, bare] = await Promise.all([startServer(scope, { cpus: 64 }), startBareFastify(scope)]);
    const t0 = Date.now();
    await populate(server.base, stored);
    ctx.log(`${NAME}: stored ${stored} experiments in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    scope.defer('chromium', () => browser.close());
    const token = authHeaders(server.base).authorization!.replace(/^Bearer /, '');
    const samples = ctx.quick ? 3 : 10;

    const paints: number[] = [];
    const firstRows: number[] = [];
    const barePaints: number[] = [];
    for (let i = 0; i < samples; i++) {
      barePaints.push((await coldLoad(browser, bare.url, token, server.base)).paint);
      const load = await coldLoad(browser, `${server.base}/experiments`, token, server.base, 'table[aria-label="Experiments"] tbody tr');
      paints.push(load.paint);
      firstRows.push(load.ready);
    }
    rows.push(
      row({ benchmark: NAME, metric: `experiments page first paint, cold, ${stored / 1000}k stored, p50`, unit: 'ms', value: percentile(paints, 50), baseline: percentile(barePaints, 50), baselineLabel: 'bare Fastify text page', target: '< 1000 ms', note: `n=${samples}` }),
      row({ benchmark: NAME, metric: `experiments page rows shown, cold, ${stored / 1000}k stored, p50`, unit: 'ms', value: percentile(firstRows, 50), baseline: percentile(paints, 50), baselineLabel: 'its first paint', note: `p95 ${percentile(firstRows, 95).toFixed(0)} ms; n=${samples}` }),
    );
    rows.push(...(await liveRows(browser, server.base, token, samples * 2)));
    return rows;
  },
};

function bundleRows(): Row[] {
  const assets = join(DIST, 'assets');
  const gz = (file: string) => gzipSync(readFileSync(join(assets, file))).length / 1024;
  const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
  const total = js.reduce((sum, f) => sum + gz(f), 0);
  // What the first page load fetches: the entry script and the chunks index.html preloads.
  const html = readFileSync(join(DIST, 'index.html'), 'utf8');
  const initial = [...html.matchAll(/assets\/([^"']+\.js)/g)].map((m) => m[1]!).filter((f, i, all) => all.indexOf(f) === i);
  const first = initial.reduce((sum, f) => sum + gz(f), 0);
  return [
    row({ benchmark: NAME, metric: 'JS, all chunks, gzip', unit: 'kB', value: total, baseline: first, baselineLabel: 'first load', target: '< 300 kB', note: `${js.length} chunks` }),
    row({ benchmark: NAME, metric: 'JS loaded by the first page, gzip', unit: 'kB', value: first, baseline: null, note: initial.join(', ') }),
  ];
}

/** A fresh context (nothing cached) with the admin's session cookie; when the first paint happened, and when `ready` matched. */
async function coldLoad(browser: Browser, url: string, token: string, server: string, ready?: string): Promise<{ paint: number; ready: number }> {
  const context = await browser.newContext();
  try {
    await context.addCookies([{ name: 'periscope_session', value: token, url: server, httpOnly: true, sameSite: 'Strict' }]);
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'commit' });
    const readyAt = ready ? await page.waitForSelector(ready).then(() => page.evaluate('performance.now()') as Promise<number>) : 0;
    // Strings, evaluated in the page: this file is compiled without the DOM's types.
    const paint = (await page.evaluate(`new Promise((resolve) => {
      const seen = performance.getEntriesByName('first-contentful-paint')[0];
      if (seen) return resolve(seen.startTime);
      new PerformanceObserver((list) => resolve(list.getEntries()[0].startTime)).observe({ type: 'paint', buffered: true });
    })`)) as number;
    return { paint, ready: readyAt };
  } finally {
    await context.close();
  }
}

/**
 * Starts experiments one after another and notes, in the page (a MutationObserver) and in a bare SSE reader,
 * when each one's row first reads Running, against the runningTime the server recorded. One machine, one clock.
 */
async function liveRows(browser: Browser, base: string, token: string, samples: number): Promise<Row[]> {
  const context = await browser.newContext();
  await context.addCookies([{ name: 'periscope_session', value: token, url: base, httpOnly: true, sameSite: 'Strict' }]);
  const page = await context.newPage();
  await page.goto(`${base}/experiments`);
  await page.waitForSelector('table[aria-label="Experiments"] tbody tr');
  await page.evaluate(`(() => {
    const seen = {};
    window.seen = seen;
    new MutationObserver(() => {
      for (const tr of document.querySelectorAll('table[aria-label="Experiments"] tbody tr')) {
        const name = /live-\\d+/.exec(tr.textContent || '')?.[0];
        if (name && seen[name] === undefined && /Running/.test(tr.textContent || '')) seen[name] = performance.timeOrigin + performance.now();
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  })()`);
  const heard = new Map<string, number>();
  const aborted = new AbortController();
  const feed = await fetch(`${base}/api/v1/events`, { headers: authHeaders(base), signal: aborted.signal });
  void (async () => {
    try {
      for await (const { data } of streamEvents(feed)) {
        const event = JSON.parse(data);
        if (event.type === 'experiment' && event.experiment.status === 'Running' && !heard.has(event.experiment.name)) heard.set(event.experiment.name, Date.now());
      }
    } catch {
      // stopped
    }
  })();
  const page_: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < samples; i++) {
    const name = `live-${i}`;
    const { result } = await api<{ experimentId: string }>(base, 'POST', '/api/v1/experiment', { ...spec(name, 'sleep 2'), spec: { Worker: { replicas: 1, resources: 'cpu=0.1,memory=16M' } } });
    const deadline = Date.now() + 30_000;
    let shown: number | undefined;
    while (Date.now() < deadline && (shown = (await page.evaluate(`window.seen[${JSON.stringify(name)}]`)) as number | undefined) === undefined) await new Promise((r) => setTimeout(r, 20));
    const recorded = Date.parse((await api<{ runningTime: string }>(base, 'GET', `/api/v1/experiment/${result.experimentId}`)).result.runningTime);
    if (shown === undefined) throw new Error(`${name} never showed Running on the page`);
    page_.push(shown - recorded);
    const h = heard.get(name);
    if (h !== undefined) bare.push(h - recorded);
  }
  aborted.abort();
  await context.close();
  return [
    row({ benchmark: NAME, metric: 'status change → page, p50', unit: 'ms', value: percentile(page_, 50), baseline: percentile(bare, 50), baselineLabel: 'SSE reader in Node', target: '< 200 ms', note: `p95 ${percentile(page_, 95).toFixed(0)} ms vs ${percentile(bare, 95).toFixed(0)} ms; n=${samples}` }),
  ];
}
