/** The help documents the exit codes; `periscope server` is the server's own command, started for real. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { periscope, startPeriscope, tempDir } from './testing/cli.js';

describe('periscope --help and server', () => {
  it('--help lists the commands and documents the exit codes, exiting 0', async () => {
    const run = await periscope(['--help']);
    assert.equal(run.code, 0);
    for (const command of ['server', 'experiment', 'environment', 'execution', 'executor', 'flag', 'node', 'health', 'user']) assert.match(run.stdout, new RegExp(`^  ${command}\\b`, 'm'));
    for (const flag of ['--master', '--user', '--cert-path', '--cert-name', '--noverify']) assert.match(run.stdout, new RegExp(`^  ${flag}\\b`, 'm'));
    assert.match(run.stdout, /Exit codes:\n {2}0 .*\n {2}1 .*\n {5}also not logged in.*periscope user login.*\n {2}2 .*usage error.*\n {2}3 .*unreachable.*\n {5}or its certificate is not trusted/);
    const experiment = await periscope(['experiment', 'wait', '--help']);
    assert.equal(experiment.code, 0);
    assert.match(experiment.stdout, /exit 0 if it Succeeded, 1 if it Failed/);
  });

  it('a command group without a subcommand shows its help and exits 2', async () => {
    const run = await periscope(['environment']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Usage: periscope environment/);
  });

  it('server --help is the server command with its flags', async () => {
    const run = await periscope(['server', '--help']);
    assert.equal(run.code, 0);
    for (const flag of ['--data-dir', '--db', '--host', '--port']) assert.match(run.stdout, new RegExp(flag));
  });

  it('server serves the API that the other commands use, and stops on SIGTERM', async () => {
    const server = startPeriscope(['server', '--data-dir', tempDir(), '--port', '0', '--log-level', 'warn']);
    await server.printed(/listening on (http:\/\/[\d.]+:\d+)/);
    const master = /listening on (http:\/\/[\d.]+:\d+)/.exec(server.stdout())![1]!;
    const list = await periscope(['experiment', 'list'], { master });
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout, 'No experiments.\n');
    server.kill('SIGTERM');
    assert.equal((await server.exited).code, 0);
  });
});
