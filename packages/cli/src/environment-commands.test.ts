/** `periscope environment …`: the real binary against a real server. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { periscope, startServer, writeFile, succeeds } from './testing/cli.js';

const { master } = await startServer();

const ok = (args: string[]) => succeeds(args, { master });

describe('periscope environment', () => {
  it('creates from YAML, lists, gets, updates from JSON and deletes', async () => {
    const yaml = writeFile(
      'env.yaml',
      ['name: my-submarine-env', 'dockerImage: continuumio/anaconda3', 'description: for tests', 'kernelSpec:', '  name: team_default_python_3.7', '  channels: [defaults]', '  condaDependencies: ["_ipyw_jlab_nb_ext_conf=0.1.0=py37_0"]', '  pipDependencies: []', ''].join('\n'),
    );
    assert.match((await ok(['environment', 'create', '-f', yaml])).stdout, /^Created environment my-submarine-env \(environment_\d+_\d+\)\n$/);

    const table = (await ok(['environment', 'list'])).stdout.split('\n');
    assert.match(table[0]!, /^NAME\s+IMAGE\s+KERNEL\s+DESCRIPTION$/);
    assert.match(table[1]!, /^my-submarine-env\s+continuumio\/anaconda3\s+team_default_python_3\.7\s+for tests$/);
    const listed = JSON.parse((await ok(['env', 'ls', '--json'])).stdout);
    assert.deepEqual(listed.map((e: { environmentSpec: { name: string } }) => e.environmentSpec.name), ['my-submarine-env']);

    const details = (await ok(['environment', 'get', 'my-submarine-env'])).stdout;
    assert.match(details, /^Image\s+continuumio\/anaconda3$/m);
    assert.match(details, /^Conda\s+_ipyw_jlab_nb_ext_conf=0\.1\.0=py37_0$/m);

    const json = writeFile('env.json', JSON.stringify({ dockerImage: 'python:3.12', description: 'updated' }));
    assert.equal((await ok(['environment', 'update', 'my-submarine-env', '-f', json])).stdout, 'Updated environment my-submarine-env\n');
    assert.equal(JSON.parse((await ok(['environment', 'get', 'my-submarine-env', '--json'])).stdout).environmentSpec.dockerImage, 'python:3.12');

    assert.equal((await ok(['environment', 'delete', 'my-submarine-env'])).stdout, 'Deleted environment my-submarine-env\n');
    assert.equal((await ok(['environment', 'list'])).stdout, 'No environments.\n');
  });

  it('refuses a spec without a name (2) and a duplicate name (1, with the server message)', async () => {
    const nameless = await periscope(['environment', 'create', '-f', writeFile('nameless.yaml', 'dockerImage: busybox\n')], { master });
    assert.equal(nameless.code, 2);
    assert.match(nameless.stderr, /^periscope: .*nameless\.yaml: "name" is required/);
    const spec = writeFile('twice.yaml', 'name: twice\ndockerImage: busybox\n');
    await ok(['environment', 'create', '-f', spec]);
    const again = await periscope(['environment', 'create', '-f', spec], { master });
    assert.equal(again.code, 1);
    assert.equal(again.stderr, 'periscope: Environment "twice" already exists. (CONFLICT)\n');
  });
});
