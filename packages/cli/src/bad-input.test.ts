/** Bad input gets one clear line on stderr and the documented exit code, never a stack trace. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { oneLine, periscope, startServer, unusedMaster, writeFile } from './testing/cli.js';

const server = await startServer();
const { master } = server;

describe('periscope with bad input', () => {
  it('a missing spec file exits 2 naming the file', async () => {
    oneLine(await periscope(['experiment', 'create', '-f', '/nonexistent/spec.yaml'], { master }), 2, /^periscope: cannot read \/nonexistent\/spec\.yaml: no such file$/);
  });

  it('malformed YAML exits 2 naming the file and the position', async () => {
    const path = writeFile('broken.yaml', 'meta:\n  name: x\n  framework: [Custom\nspec: {}\n');
    oneLine(await periscope(['experiment', 'create', '-f', path], { master }), 2, /^periscope: .*broken\.yaml is not valid YAML: .*line \d+, column \d+$/);
  });

  it('malformed JSON exits 2 naming the file', async () => {
    const path = writeFile('broken.json', '{"meta": {"name": "x",}');
    oneLine(await periscope(['experiment', 'create', '-f', path], { master }), 2, /^periscope: .*broken\.json is not valid JSON: /);
  });

  it('a spec that is not an object exits 2', async () => {
    const path = writeFile('list.yaml', '- one\n- two\n');
    oneLine(await periscope(['experiment', 'create', '-f', path], { master }), 2, /holds a list, not an experiment spec/);
  });

  it('an unknown flag, an unknown command, a missing -f and a bad --tail exit 2', async () => {
    oneLine(await periscope(['experiment', 'list', '--bogus'], { master }), 2, /^periscope: unknown option '--bogus'/);
    oneLine(await periscope(['experimnt', 'list'], { master }), 2, /^periscope: unknown command 'experimnt'.*Did you mean experiment\?/);
    oneLine(await periscope(['experiment', 'create'], { master }), 2, /^periscope: missing the experiment: pass -f SPEC, or CONFIG MODEL_DIR$/);
    oneLine(await periscope(['experiment', 'logs', 'experiment-1647574374688-0001', '--tail', 'ten'], { master }), 2, /--tail <n>.*'ten' is invalid/);
  });

  it('a malformed --master or PERISCOPE_MASTER exits 2 naming where it came from', async () => {
    oneLine(await periscope(['--master', 'localhost:32080', 'experiment', 'list'], { master }), 2, /^periscope: --master "localhost:32080" must be an http:\/\/ or https:\/\/ URL$/);
    oneLine(await periscope(['experiment', 'list'], { master: 'not a url' }), 2, /^periscope: PERISCOPE_MASTER "not a url" is not a URL/);
  });

  it('an unreachable server exits 3 naming the address', async () => {
    const nowhere = await unusedMaster();
    const run = await periscope(['experiment', 'list'], { master: nowhere });
    oneLine(run, 3, new RegExp(`^periscope: cannot reach the Periscope server at ${nowhere.replaceAll('.', '\\.')}: connection refused`));
  });

  it('--master wins over PERISCOPE_MASTER', async () => {
    const nowhere = await unusedMaster();
    const run = await periscope(['--master', master, 'experiment', 'list', '--json'], { master: nowhere });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(Array.isArray(JSON.parse(run.stdout)));
  });

  it("an unknown id exits 1 with the server's message", async () => {
    oneLine(await periscope(['experiment', 'get', 'experiment-1647574374688-9999'], { master }), 1, /^periscope: Not found experiment\. \(NOT_FOUND\)$/);
    oneLine(await periscope(['environment', 'delete', 'no-such-env'], { master }), 1, /^periscope: Environment not found\. \(NOT_FOUND\)$/);
  });

  it("a spec the server refuses exits 1 with the server's message naming the field", async () => {
    const path = writeFile('no-framework.json', JSON.stringify({ meta: { name: 'x', cmd: 'true' }, spec: { Worker: {} } }));
    oneLine(await periscope(['experiment', 'create', '-f', path], { master }), 1, /^periscope: meta\.framework: is required \(BAD_REQUEST\)$/);
  });
});
