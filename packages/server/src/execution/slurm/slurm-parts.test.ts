/**
 * The Slurm launcher's pure parts, without a cluster: the launch file reads back in a real /bin/sh as exactly
 * the environment and argv it was built from (hostile values included), a gang becomes the sbatch argv its
 * resources, constraints, limit and options say, scontrol and squeue output are read right, and the server's
 * --launcher flags are checked.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, resolveConfig } from '../../config.js';
import { eventually } from '../../testing/databases.js';
import { gangOf } from '../../testing/launcher.js';
import { launchFile, parseLanded, shellWord, STEP_SCRIPT } from './job-scripts.js';
import { constraintOf, sbatchArgs, slurmTime } from './sbatch-args.js';
import { parseScontrolLine, parseSqueue } from './slurm-cli.js';
import { featureLabels, gpuCount, neverFits, parseNodes } from './slurm-nodes.js';

const HOSTILE = ["it's", '$(touch /tmp/pwned)', '`id`', 'a"b', 'back\\slash', 'new\nline', "''", '*', '; exit 7', '$HOME', ' leading and trailing ', ''];

describe('the launch file', () => {
  it('reads back in /bin/sh as exactly the environment, work dir and argv it was built from', () => {
    const dir = mkdtempSync(join(tmpdir(), "periscope launch 'dir' "));
    const env = Object.fromEntries(HOSTILE.map((v, i) => [`V${i}`, v]));
    // The "command" prints its argv and the variables NUL-separated, to compare byte for byte.
    const argv = ['/bin/sh', '-c', 'printf "%s\\0" "$PWD" "$@"; for i in 0 1 2 3 4 5 6 7 8 9 10 11; do eval "printf \'%s\\0\' \\"\\$V$i\\""; done', 'argv0', ...HOSTILE];
    const file = launchFile({ cwd: dir, env, argv, stdout: join(dir, 'out'), stderr: join(dir, 'err'), exit: join(dir, 'exit') });
    writeFileSync(join(dir, 'launch'), file);
    // What the step does with it: source it, then run "$@" (here the wrapper, which runs our command).
    const run = spawnSync('/bin/sh', ['-c', '. "$1"; exec "$@"', 'step', join(dir, 'launch')], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const out = readFileSync(join(dir, 'out'), 'utf8').split('\0').slice(0, -1);
    assert.deepEqual(out, [dir, ...HOSTILE, ...HOSTILE]);
    assert.equal(readFileSync(join(dir, 'exit'), 'utf8'), '0\n');
  });

  it('refuses a variable name no shell takes, and a NUL byte', () => {
    assert.throws(() => launchFile({ cwd: '/', env: { 'A;B': 'x' }, argv: ['true'], stdout: '', stderr: '', exit: '' }), /not a valid name/);
    assert.throws(() => shellWord('a\0b'), /NUL/);
  });

  it('reads what a step wrote on landing, and nothing else', () => {
    assert.deepEqual(parseLanded('node2\n41.1\n0,1\n'), { node: 'node2', step: '41.1', gpus: [0, 1], submission: null });
    assert.deepEqual(parseLanded('node1\n7.0\n\n'), { node: 'node1', step: '7.0', gpus: [], submission: null });
    assert.deepEqual(parseLanded('node1\n7.batch\n\nsub-1\n'), { node: 'node1', step: '7.batch', gpus: [], submission: 'sub-1' });
    assert.equal(parseLanded('node1\n7.0; rm -rf /\n'), null);
    assert.equal(parseLanded(''), null);
  });
});

describe('the step script', () => {
  /** Runs STEP_SCRIPT as a lone executor's batch step would, with `submission` as its job's. */
  function step(dir: string, submission: string) {
    const script = join(dir, 'step.sh');
    writeFileSync(script, STEP_SCRIPT);
    const child = spawn('/bin/sh', [script, dir, '0', 'batch', 'true'], { env: { PATH: process.env.PATH, SLURM_JOB_ID: '41', SLURMD_NODENAME: 'node1', PERISCOPE_SUBMISSION: submission }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    return { child, ended: once(child, 'exit').then(([code]) => ({ code, stderr })) };
  }
  const launchFor = (dir: string, submission: string) => launchFile({ cwd: dir, env: {}, argv: ['/bin/sh', '-c', 'echo ran >> runs'], stdout: join(dir, 'out'), stderr: join(dir, 'err'), exit: join(dir, 'exit'), submission });

  it("runs its launch when the executor's submission is its own, saying so in its landing", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'periscope-step-'));
    writeFileSync(join(dir, 'submission'), 'sub-a\n');
    writeFileSync(join(dir, 'launch'), launchFor(dir, 'sub-a'));
    const { ended } = step(dir, 'sub-a');
    assert.equal((await ended).code, 0, (await ended).stderr);
    assert.deepEqual(parseLanded(readFileSync(join(dir, 'landed'), 'utf8')), { node: 'node1', step: '41.batch', gpus: [], submission: 'sub-a' });
    assert.equal(readFileSync(join(dir, 'runs'), 'utf8'), 'ran\n');
  });

  it('leaves without landing or running when another submission (or none: abandoned) holds the executor', async () => {
    for (const holder of ['sub-b\n', 'abandoned\n']) {
      const dir = mkdtempSync(join(tmpdir(), 'periscope-step-'));
      writeFileSync(join(dir, 'submission'), holder);
      writeFileSync(join(dir, 'launch'), launchFor(dir, 'sub-a'));
      const { ended } = step(dir, 'sub-a');
      assert.equal((await ended).code, 0);
      assert.equal(existsSync(join(dir, 'landed')), false, 'no landing');
      assert.equal(existsSync(join(dir, 'runs')), false, 'nothing ran');
    }
  });

  it('leaves while it waits once a newer submission takes the executor, and never runs a launch not meant for it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'periscope-step-'));
    writeFileSync(join(dir, 'submission'), 'sub-a\n');
    const { ended } = step(dir, 'sub-a');
    await eventually('the step to land', () => existsSync(join(dir, 'landed')), 10_000);
    // The restarted server's submission: its own id, and a launch for its own job, which this one must not take.
    writeFileSync(join(dir, 'submission'), 'sub-b\n');
    writeFileSync(join(dir, 'launch'), launchFor(dir, 'sub-b'));
    assert.equal((await ended).code, 0);
    assert.equal(existsSync(join(dir, 'runs')), false, 'the stale step ran nothing');
    // The launch file's own guard, for a step that looked before the submission changed.
    const sourced = spawnSync('/bin/sh', ['-c', '. "$1"; exec "$@"', 'step', join(dir, 'launch')], { cwd: dir, env: { PATH: process.env.PATH, PERISCOPE_SUBMISSION: 'sub-a' }, encoding: 'utf8' });
    assert.equal(sourced.status, 0, sourced.stderr);
    assert.equal(existsSync(join(dir, 'runs')), false, 'a launch for another submission does not run');
  });
});

describe('sbatch arguments', () => {
  it('give each executor a component with its resources, constraints, limit and options; the scripts and dirs last', () => {
    const gang = {
      ...gangOf([
        { name: 'a', argv: ['true'], cwd: '/work', env: {}, logDir: '/logs/a', resources: { cpu: 0.5, memoryMb: 2048, gpu: 1 }, nodes: ['node1'] },
        { name: 'b', argv: ['true'], cwd: '/work', env: {}, logDir: '/logs/b', resources: { cpu: 2, memoryMb: 0, gpu: 0 }, nodeSelector: { a100: 'true', zone: 'east' } },
      ]),
      timeLimitS: 90.2,
      engine: { partition: 'gpu', extraArgs: ['--comment=exp'] },
    };
    const args = sbatchArgs(gang, { account: 'ml', qos: 'normal', partition: 'cpu', extraArgs: ['--exclusive'] }, { batch: '/s/batch.sh', step: '/s/step.sh' }, '/logs/a/slurm-job.out');
    const colon = args.indexOf(':');
    const first = args.slice(0, colon);
    const second = args.slice(colon + 1, args.indexOf('/s/batch.sh'));
    for (const a of ['--job-name=periscope-experiment-0-0001-t1', '--output=/logs/a/slurm-job.out', '--chdir=/work', '--no-requeue', '--ntasks=1', '--cpus-per-task=1', '--mem=2048M', '--gres=gpu:1', '--nodelist=node1', '--time=1:31', '--partition=gpu', '--account=ml', '--qos=normal', '--exclusive', '--comment=exp']) {
      assert.ok(first.includes(a), `${a} in ${first.join(' ')}`);
    }
    assert.ok(!first.includes('--partition=cpu'), "the experiment's partition wins");
    assert.deepEqual(second.filter((a) => /^--(cpus|mem|gres|constraint|nodelist)/.test(a)), ['--cpus-per-task=2', '--constraint=a100&zone=east']);
    assert.deepEqual(args.slice(args.indexOf('/s/batch.sh')), ['/s/batch.sh', '/s/step.sh', '/logs/a', '/logs/b']);
  });

  it('write time limits as minutes:seconds and selectors as features', () => {
    assert.equal(slurmTime(5), '0:05');
    assert.equal(slurmTime(3600), '60:00');
    assert.equal(constraintOf({ gpu: 'a100' }), 'gpu=a100');
  });
});

describe('what Slurm prints', () => {
  it('reads scontrol show node -o: capacity, GPUs from GRES, features as labels, state and allocation', () => {
    const line =
      'NodeName=gpu7 Arch=x86_64 CoresPerSocket=8 CPUAlloc=6 CPUEfctv=32 CPUTot=32 CPULoad=1.5 AvailableFeatures=a100,zone=east ActiveFeatures=a100 Gres=gpu:a100:4(S:0-1) NodeAddr=10.0.0.7 NodeHostName=gpu7 Port=6818 Version=22.05.8 OS=Linux 6.1 #1 SMP RealMemory=256000 AllocMem=64000 FreeMem=100 Sockets=2 State=MIXED ThreadsPerCore=1 AllocTRES=cpu=6,mem=62.50G,gres/gpu=2';
    const [node] = parseNodes(`${line}\nNodeName=down1 Arch=x86_64 CPUTot=4 RealMemory=100 State=DOWN+NOT_RESPONDING Gres=(null) AvailableFeatures=(null)\n`);
    assert.deepEqual(
      { name: node!.name, address: node!.address, cpus: node!.cpus, memoryMb: node!.memoryMb, gpus: node!.gpus.length, labels: node!.labels, state: node!.state, allocated: node!.allocated },
      { name: 'gpu7', address: '10.0.0.7', cpus: 32, memoryMb: 256000, gpus: 4, labels: { a100: 'true', zone: 'east' }, state: 'READY', allocated: { cpu: 6, memoryMb: 64000, gpus: [0, 1] } },
    );
    assert.equal(parseNodes(`NodeName=down1 CPUTot=4 RealMemory=100 State=DOWN+NOT_RESPONDING`)[0]!.state, 'DOWN+NOT_RESPONDING');
    assert.equal(parseScontrolLine('A=1 OS=Linux 6.1 #1 SMP B=2').OS, 'Linux 6.1 #1 SMP');
    assert.equal(gpuCount('gpu:a100:2,gpu:v100:1'), 3);
    assert.deepEqual(featureLabels('(null)'), {});
  });

  it('reads squeue rows, het components under their leader', () => {
    assert.deepEqual(parseSqueue('12+0|RUNNING|None|node1\n12+1|PENDING|Resources|\n13|COMPLETED|None|node2\ngarbage\n'), [
      { id: '12+0', jobId: '12', state: 'RUNNING', reason: 'None', nodes: 'node1' },
      { id: '12+1', jobId: '12', state: 'PENDING', reason: 'Resources', nodes: '' },
      { id: '13', jobId: '13', state: 'COMPLETED', reason: 'None', nodes: 'node2' },
    ]);
  });

  it('refuses a gang no node could hold, naming the largest node', () => {
    const [node] = parseNodes('NodeName=n1 CPUTot=4 RealMemory=1000 State=IDLE Gres=(null)');
    assert.equal(neverFits([{ cpu: 1, memoryMb: 100, gpu: 0 }], [node!]), null);
    assert.match(neverFits([{ cpu: 1, memoryMb: 100, gpu: 1 }], [node!])!, /no Slurm node has that much \(the largest have cpu=4, memory=1000M, gpu=0\)/);
  });
});

describe('the --launcher flags', () => {
  it('take slurm with its defaults, and refuse what is not a launcher or an sbatch option', () => {
    const config = resolveConfig({ launcher: 'slurm', slurmPartition: 'gpu,cpu', slurmAccount: 'ml', slurmArgs: '--exclusive  --comment=x' }, {});
    assert.deepEqual(config.launcher, { kind: 'slurm', defaults: { partition: 'gpu,cpu', account: 'ml', extraArgs: ['--exclusive', '--comment=x'] } });
    assert.deepEqual(resolveConfig({}, { PERISCOPE_LAUNCHER: 'slurm', PERISCOPE_SLURM_QOS: 'high' }).launcher, { kind: 'slurm', defaults: { qos: 'high' } });
    assert.deepEqual(resolveConfig({}, {}).launcher, { kind: 'local' });
    assert.throws(() => resolveConfig({ launcher: 'k8s' }, {}), (e) => e instanceof ConfigError && /not a launcher/.test(e.message));
    assert.throws(() => resolveConfig({ launcher: 'slurm', slurmAccount: 'a;b' }, {}), /not a Slurm account name/);
    assert.throws(() => resolveConfig({ launcher: 'slurm', slurmArgs: 'rm -rf' }, {}), /not an sbatch option/);
    assert.throws(() => resolveConfig({ slurmPartition: 'gpu' }, {}), /only apply with --launcher slurm/);
  });
});
