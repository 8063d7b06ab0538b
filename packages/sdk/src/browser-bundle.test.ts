/**
 * The SDK's main entry is for browsers too: it bundles for the browser platform (no Node built-ins), and the
 * bundle runs where there is no `process` at all, defaulting to the local server.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { describe, it } from 'node:test';
import { build } from 'esbuild';
import { parkedSpec, startServer } from './testing/server.js';

const ENTRY = fileURLToPath(new URL('./index.ts', import.meta.url));

describe('the SDK in a browser', () => {
  it('bundles for the browser platform and works without process, PERISCOPE_MASTER, a credentials file or Node globals', async () => {
    const bundle = await build({ entryPoints: [ENTRY], bundle: true, platform: 'browser', format: 'iife', globalName: 'sdk', write: false, logLevel: 'silent' });
    const code = bundle.outputFiles[0]!.text;
    assert.doesNotMatch(code, /require\("node:|from "node:/);
    // Only types come from @periscope/core: its runtime (TypeBox schemas) stays out of the bundle.
    assert.doesNotMatch(code, /node_modules\/typebox/);
    // Nor undici (TLS options are for Node).
    assert.doesNotMatch(code, /node_modules\/undici/);

    // Only what a browser window has that the SDK might touch; no process, Buffer or require.
    const window = { URL, URLSearchParams, AbortController, AbortSignal, DOMException, setTimeout, clearTimeout, TextEncoder, TextDecoder, fetch, console };
    const sdk = runInNewContext(`${code}; sdk`, window) as typeof import('./index.js');
    const periscope = new sdk.Periscope();
    assert.equal(periscope.master, 'http://127.0.0.1:32080');
    assert.equal(new sdk.ExperimentClient({ host: 'https://periscope.example.org/' }).periscope.master, 'https://periscope.example.org');

    // No credentials file in a browser: the token is passed as is.
    const server = await startServer();
    await assert.rejects(new sdk.Periscope({ master: server.master }).whoami(), { name: 'PeriscopeApiError', code: 'UNAUTHORIZED', message: /^Not logged in to / });
    const client = new sdk.ExperimentClient({ host: server.master, token: server.token });
    const created = await client.createExperiment(parkedSpec('from-a-browser'));
    assert.equal((await client.getExperiment(created.experimentId)).spec.meta.name, 'from-a-browser');
    await assert.rejects(client.getExperiment('experiment-1647574374688-9999'), { name: 'PeriscopeApiError', code: 'NOT_FOUND' });
  });
});
