/**
 * The Python helper as a package: `pip install` of python/ into a fresh venv works with no package index (its
 * build backend is in the folder, stdlib only), and training code run with that venv's interpreter, without the
 * server's PYTHONPATH, reports a metric through the installed module.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Periscope } from '@periscope/sdk';
import { start, tokenOf } from '../packages/server/src/testing/server-process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const run = promisify(execFile);

const work = mkdtempSync(join(tmpdir(), 'periscope-python-package-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('the Python helper package', () => {
  it('installs into a venv with pip, offline, at the one version, and reports a metric from there', async () => {
    const venv = join(work, 'venv');
    await run('python3', ['-m', 'venv', venv]);
    // pip builds in the folder it is given: a copy keeps the checkout clean.
    const source = join(work, 'python-helper');
    cpSync(join(ROOT, 'python'), source, { recursive: true });
    await run(join(venv, 'bin/pip'), ['install', '--no-index', '--quiet', source]);
    const { stdout: shown } = await run(join(venv, 'bin/pip'), ['show', 'periscope-helper']);
    assert.match(shown, new RegExp(`^Version: ${VERSION.replaceAll('.', '\\.')}$`, 'm'));

    const server = await start(['--data-dir', join(work, 'data'), '--port', '0']);
    const periscope = new Periscope({ master: server.base, token: tokenOf(server.base)! });
    const script = join(work, 'report.py');
    writeFileSync(script, `import periscope\nassert "/site-packages/" in periscope.__file__, periscope.__file__\nperiscope.init().report_training_metrics(1, {"loss": 0.25})\n`);
    // Without the PYTHONPATH the server sets, the module imported is the installed one.
    const cmd = `env -u PYTHONPATH ${join(venv, 'bin/python')} ${script}`;
    const { experimentId } = await periscope.experiments.create({ meta: { name: 'from-a-venv', framework: 'PyTorch', cmd }, spec: { Master: { replicas: 1, resources: 'cpu=1,memory=64M' } } });
    const { status, logs } = await periscope.experiments.wait(experimentId);
    assert.equal(status, 'Succeeded', JSON.stringify(logs));
    const [trial] = await periscope.experiments.trials(experimentId);
    const reports = [];
    for await (const report of (await periscope.getTrial(trial!.id)).metrics({ group: 'training' })) reports.push([report.stepsCompleted, report.metrics]);
    assert.deepEqual(reports, [[1, { loss: 0.25 }]]);
  });
});
