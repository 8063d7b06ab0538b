/**
 * The published packages, installed as a user installs them: `scripts/pack.mjs` builds and packs the four npm
 * packages, an empty project installs the tarballs offline (scripts/testing/offline-project.ts), and then plain
 * `node`, the installed binaries and `tsc` use them. Nothing here runs the workspace's sources but the test's own
 * helpers. (The Python helper's package has its own test: python-helper-package.test.ts.)
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { start, type Started } from '../packages/server/src/testing/server-process.js';
import { SERVER_NODE_FLAGS, SERVER_SHEBANG } from './node-flags.mjs';
import { installOffline, manifestOf, type Manifest } from './testing/offline-project.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const NAMES = ['core', 'sdk', 'cli', 'server'] as const;
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const run = promisify(execFile);

const work = mkdtempSync(join(tmpdir(), 'periscope-packaging-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The tarball of each package, by short name. */
const tarballs = {} as Record<(typeof NAMES)[number], string>;
/** A project with all four installed, and one with the CLI but not the server. */
const full = join(work, 'full');
const clientOnly = join(work, 'client-only');

/** Runs an installed binary of `project`; answers its exit code and output instead of throwing. */
function bin(project: string, name: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(join(project, 'node_modules/.bin', name), args, { cwd: project, env, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `periscope experiment create --wait` of a one-executor experiment running `cmd`; answers its id and output. */
function createAndWait(name: string, cmd: string): { id: string; status: number | null; output: string } {
  const spec = join(work, `${name}.json`);
  writeFileSync(spec, JSON.stringify({ meta: { name, framework: 'PyTorch', cmd }, spec: { Master: { replicas: 1, resources: 'cpu=1,memory=64M' } } }));
  const created = bin(full, 'periscope', ['experiment', 'create', '-f', spec, '--wait']);
  const id = /^Created (experiment-\d+-\d+) /m.exec(created.stdout)?.[1];
  assert.ok(id, created.stdout + created.stderr);
  return { id, status: created.status, output: created.stdout + created.stderr + bin(full, 'periscope', ['experiment', 'logs', id]).stdout };
}

/** The files in a tarball, without npm's `package/` prefix. */
async function filesOf(tarball: string): Promise<string[]> {
  const { stdout } = await run('tar', ['-tzf', tarball], { maxBuffer: 1 << 24 });
  return stdout.split('\n').filter(Boolean).map((line) => line.replace(/^package\//, ''));
}

// Set up at the top level, not in a before hook: the server's cleanup (an after hook) belongs to the file.
const { stdout } = await run(process.execPath, [join(ROOT, 'scripts/pack.mjs'), '--out', join(work, 'packs')], { cwd: ROOT, maxBuffer: 1 << 24 });
const paths = stdout.trim().split('\n');
for (const [index, name] of NAMES.entries()) tarballs[name] = paths[index]!;
await installOffline(full, NAMES.map((name) => tarballs[name]), { extra: ['@types/node'] });
await installOffline(clientOnly, [tarballs.core, tarballs.sdk, tarballs.cli]);

const dataDir = join(work, 'data');
// Run by its own `#!` line, as a user's shell runs it.
const server: Started = await start(['--data-dir', dataDir, '--port', '0', '--cpus', '2'], { PERISCOPE_CREDENTIALS: join(work, 'credentials') }, [join(full, 'node_modules/.bin/periscope-server')]);
// The server filed its admin's token in the credentials file: the CLI and the SDK find it there.
const env: NodeJS.ProcessEnv = { ...process.env, PERISCOPE_CREDENTIALS: server.credentials, PERISCOPE_MASTER: server.base, PERISCOPE_USER: 'admin' };

describe('the packed tarballs', () => {
  it('hold only what runs, with manifests at the one version and no tooling among the dependencies', async () => {
    const expected: Record<(typeof NAMES)[number], string[]> = {
      core: ['dist/index.js', 'dist/index.d.ts', 'dist/credentials.js', 'dist/search/determined-config.d.ts', 'README.md'],
      sdk: ['dist/index.js', 'dist/index.d.ts', 'dist/training.js', 'dist/tls-node.js', 'dist/credentials-file.js', 'dist/determined/node-files.js', 'README.md'],
      cli: ['dist/periscope.mjs', 'README.md'],
      server: ['dist/server.mjs', 'dist/index.mjs', 'dist/spawner-process.mjs', 'web/index.html', 'python/periscope.py'],
    };
    for (const name of NAMES) {
      const files = await filesOf(tarballs[name]);
      for (const file of [...expected[name], 'package.json', 'CHANGELOG.md']) assert.ok(files.includes(file), `${name} lacks ${file}: ${files.join(' ')}`);
      const stray = files.filter((file) => file.startsWith('src/') || /\.test(-util)?\.|(^|\/)testing\/|\.map$|\.tsbuildinfo$/.test(file) || (file.endsWith('.ts') && !file.endsWith('.d.ts')));
      assert.deepEqual(stray, [], `${name} ships files that do not run`);

      const manifest: Manifest = await manifestOf(tarballs[name]);
      assert.equal(manifest.name, `@periscope/${name}`);
      assert.equal(manifest.version, VERSION);
      assert.equal(manifest.private, undefined);
      const dependencies = Object.keys(manifest.dependencies ?? {});
      for (const tool of ['tsx', 'esbuild', 'typescript', 'vite']) assert.ok(!dependencies.includes(tool), `${name} depends on ${tool}`);
      for (const [dependency, range] of Object.entries(manifest.dependencies ?? {})) if (dependency.startsWith('@periscope/')) assert.equal(range, VERSION);
    }
    assert.ok(!Object.keys((await manifestOf(tarballs.cli)).dependencies ?? {}).includes('@periscope/server'), 'the CLI must not depend on the server');
    // The server bundles core, so it does not depend on it; core's own dependencies are the server's too.
    assert.ok(!Object.keys((await manifestOf(tarballs.server)).dependencies ?? {}).some((name) => name.startsWith('@periscope/')));
  });

  it('share one version with the workspace, the Python helper and the changelog', () => {
    for (const dir of readdirSync(join(ROOT, 'packages'))) {
      assert.equal((JSON.parse(readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8')) as { version: string }).version, VERSION, `packages/${dir}`);
    }
    assert.match(readFileSync(join(ROOT, 'python/pyproject.toml'), 'utf8'), new RegExp(`^version = "${VERSION.replaceAll('.', '\\.')}"$`, 'm'));
    assert.match(readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8'), new RegExp(`^## ${VERSION.replaceAll('.', '\\.')}\\b`, 'm'));
  });
});

describe('installed from the tarballs', () => {
  it('the server runs from its package: the API, the dashboard and the Python helper on PYTHONPATH', async () => {
    assert.match(server.banner, /^sqlite /);
    const page = await fetch(`${server.base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="root">/);
    const helper = createAndWait('helper-path', 'python3 -c "import periscope; print(periscope.__file__)"');
    assert.equal(helper.status, 0, helper.output);
    assert.ok(helper.output.includes(join(full, 'node_modules/@periscope/server/python/periscope.py')), helper.output);
  });

  it('plain node imports the SDK (as ES module and by require) and talks to the server', async () => {
    writeFileSync(
      join(full, 'client.mjs'),
      `import { Periscope } from '@periscope/sdk';
const periscope = new Periscope();
const experiment = await periscope.experiments.create({ meta: { name: 'from-plain-node', framework: 'PyTorch', cmd: 'echo hello from node' }, spec: { Master: { replicas: 1, resources: 'cpu=1,memory=64M' } } });
const { status } = await periscope.experiments.wait(experiment.experimentId);
const lines = await periscope.experiments.logs(experiment.experimentId);
console.log(JSON.stringify({ status, text: lines.logContent.flatMap((pod) => pod.podLog).join('\\n') }));
`,
    );
    const { stdout } = await run(process.execPath, ['client.mjs'], { cwd: full, env });
    const answer = JSON.parse(stdout) as { status: string; text: string };
    assert.equal(answer.status, 'Succeeded');
    assert.match(answer.text, /hello from node/);

    writeFileSync(join(full, 'client.cjs'), `const { ExperimentClient, Periscope } = require('@periscope/sdk');\nnew Periscope().whoami().then((me) => console.log(typeof ExperimentClient, me.username));\n`);
    assert.equal((await run(process.execPath, ['client.cjs'], { cwd: full, env })).stdout.trim(), 'function admin');
  });

  it('the SDK bundles for a browser from its package, with nothing of Node in it', async () => {
    writeFileSync(join(full, 'page.js'), `import { Periscope } from '@periscope/sdk';\nglobalThis.periscope = new Periscope({ master: location.origin });\n`);
    const bundle = await build({ entryPoints: [join(full, 'page.js')], absWorkingDir: full, bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
    const code = bundle.outputFiles[0]!.text;
    assert.ok(/\bvar Periscope = class\b/.test(code), 'the bundle holds the client');
    const node = /from "node:[^"]*"|require\("node:[^"]*"\)|node_modules\/(undici|tar|typebox)\//.exec(code);
    assert.equal(node?.[0], undefined, 'the bundle holds something of Node');
  });

  it("the bins and `npm start` run node with the server's V8 flags", () => {
    for (const file of ['@periscope/server/dist/server.mjs', '@periscope/cli/dist/periscope.mjs']) {
      assert.equal(readFileSync(join(full, 'node_modules', file), 'utf8').split('\n')[0], SERVER_SHEBANG, file);
    }
    // The server started by its `#!` line (above) is node itself, with the flags: a young generation kept small.
    const cmdline = readFileSync(`/proc/${server.child.pid}/cmdline`, 'utf8').split('\0');
    assert.ok(cmdline.some((arg) => /^--max-semi-space-size=\d+$/.test(arg)), `the server runs with a semi-space size: ${cmdline.join(' ')}`);
    for (const flag of SERVER_NODE_FLAGS) assert.ok(cmdline.includes(flag), `the server runs with ${flag}: ${cmdline.join(' ')}`);
    const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    assert.ok(start.includes(`node ${SERVER_NODE_FLAGS.join(' ')} packages/server/dist/server.mjs`), `npm start runs the server with the flags: ${start}`);
  });

  it('the CLI answers --version, lists and creates with --wait, and serves `periscope server` beside the server package', () => {
    assert.equal(bin(full, 'periscope', ['--version']).stdout.trim(), VERSION);
    const spec = join(full, 'hello.yaml');
    writeFileSync(spec, `meta:\n  name: hello-from-the-cli\n  framework: PyTorch\n  cmd: 'echo hello from the cli'\nspec:\n  Master: { replicas: 1, resources: "cpu=1,memory=64M" }\n`);
    const created = bin(full, 'periscope', ['experiment', 'create', '-f', spec, '--wait']);
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout, /Succeeded/);
    const listed = bin(full, 'periscope', ['experiment', 'list']);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /hello-from-the-cli\s+Succeeded/);
    const help = bin(full, 'periscope', ['server', '--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /--data-dir/);
  });

  it('the CLI without the server package says how to get `periscope server`, and works against a server', () => {
    assert.equal(bin(clientOnly, 'periscope', ['--version']).stdout.trim(), VERSION);
    assert.match(bin(clientOnly, 'periscope', ['--help']).stdout.replace(/\s+/g, ' '), /npm install @periscope\/server/);
    const serverCommand = bin(clientOnly, 'periscope', ['server']);
    assert.equal(serverCommand.status, 1);
    assert.match(serverCommand.stderr, /^periscope: periscope server needs the server package.*npm install @periscope\/server\n$/);
    const listed = bin(clientOnly, 'periscope', ['experiment', 'list']);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /hello-from-the-cli/);
  });

  it("a TypeScript project type-checks against the SDK's declarations, and they catch a mistake", async () => {
    // skipLibCheck, as `tsc --init` sets it: checking every .d.ts (TypeBox's types, Node's) takes 20 s here, and the
    // project's own file is still checked against the SDK's declarations, which is what is tested.
    const tsconfig = { compilerOptions: { strict: true, skipLibCheck: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true, types: ['node'] }, files: ['use.ts'] };
    writeFileSync(join(full, 'tsconfig.json'), JSON.stringify(tsconfig));
    const use = `import { Periscope, type Experiment } from '@periscope/sdk';
import { TrainingContext } from '@periscope/sdk/training';
const periscope = new Periscope({ master: 'http://127.0.0.1:32080' });
export async function names(): Promise<string[]> {
  const page = await periscope.experiments.list({ limit: 10 });
  return page.experiments.map((experiment: Experiment) => experiment.spec.meta.name);
}
export type Context = TrainingContext;
`;
    writeFileSync(join(full, 'use.ts'), use);
    await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: full });
    writeFileSync(join(full, 'use.ts'), `${use}export const wrong: number = new Periscope().master;\n`);
    const failed = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: full, encoding: 'utf8' });
    assert.equal(failed.status, 2, failed.stdout);
    assert.match(failed.stdout, /use\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
  });
});
