/**
 * Hostile and malformed input: always a 4xx in the envelope (success null, result null) with a message naming
 * the field, never a 500, and nothing written.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { call, testApp } from '../testing/app.js';
import { DATABASES } from '../testing/databases.js';

const good = () => ({
  meta: { name: 'tf-mnist-json', namespace: 'default', framework: 'TensorFlow', cmd: 'python train.py', envVars: { ENV_1: 'ENV1' } },
  environment: { image: 'apache/submarine:tf-mnist-with-summaries-1.0' },
  spec: { Ps: { replicas: 1, resources: 'cpu=1,memory=1024M' }, Worker: { replicas: 1, resources: 'cpu=1,memory=2048M' } },
});
type Spec = ReturnType<typeof good> & Record<string, any>;
const edit = (change: (spec: Spec) => void) => {
  const spec = good() as Spec;
  change(spec);
  return spec;
};

interface Case {
  name: string;
  method?: string;
  url?: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  message: RegExp;
}

const cases: Case[] = [
  { name: 'malformed JSON', body: '{"meta": {', status: 400, message: /Malformed JSON body/ },
  { name: 'JSON null body', body: 'null', status: 400, message: /body/ },
  { name: 'empty body on create', body: '', status: 400, message: /body/ },
  { name: 'an array body', body: [], status: 400, message: /body/ },
  { name: 'missing meta', body: edit((s) => delete (s as any).meta), status: 400, message: /meta: is required/ },
  { name: 'missing meta.name', body: edit((s) => delete (s.meta as any).name), status: 400, message: /meta\.name: is required/ },
  { name: 'missing meta.framework', body: edit((s) => delete (s.meta as any).framework), status: 400, message: /meta\.framework: is required/ },
  { name: 'missing spec', body: edit((s) => delete (s as any).spec), status: 400, message: /spec: is required/ },
  { name: 'empty spec', body: edit((s) => (s.spec = {} as any)), status: 400, message: /spec: at least one task role/ },
  { name: 'meta is a string', body: edit((s) => (s.meta = 'x' as any)), status: 400, message: /meta/ },
  { name: 'name is a number', body: edit((s) => ((s.meta as any).name = 42)), status: 400, message: /meta\.name/ },
  { name: 'empty name', body: edit((s) => (s.meta.name = '')), status: 400, message: /meta\.name/ },
  { name: 'path-like name', body: edit((s) => (s.meta.name = '../../etc/passwd')), status: 400, message: /meta\.name/ },
  { name: 'envVars value not a string', body: edit((s) => ((s.meta.envVars as any).N = 5)), status: 400, message: /meta\.envVars\.N/ },
  { name: 'env var name with a dash', body: edit((s) => ((s.meta.envVars as any)['A-B'] = 'x')), status: 400, message: /meta\.envVars.*A-B/ },
  { name: 'replicas zero', body: edit((s) => (s.spec.Ps.replicas = 0)), status: 400, message: /spec\.Ps\.replicas/ },
  { name: 'replicas negative', body: edit((s) => (s.spec.Ps.replicas = -1)), status: 400, message: /spec\.Ps\.replicas/ },
  { name: 'replicas fractional', body: edit((s) => (s.spec.Ps.replicas = 1.5)), status: 400, message: /spec\.Ps\.replicas/ },
  { name: 'replicas as a string', body: edit((s) => ((s.spec.Ps as any).replicas = '2')), status: 400, message: /spec\.Ps\.replicas/ },
  { name: 'resources without =', body: edit((s) => (s.spec.Ps.resources = 'cpu1')), status: 400, message: /spec\.Ps\.resources.*"cpu1"/ },
  { name: 'memory with a bad unit', body: edit((s) => (s.spec.Ps.resources = 'cpu=1,memory=4Gb')), status: 400, message: /spec\.Ps\.resources.*"4Gb"/ },
  { name: 'unknown resource', body: edit((s) => (s.spec.Ps.resources = 'cpu=1,disk=10G')), status: 400, message: /spec\.Ps\.resources.*"disk"/ },
  { name: 'unsupported framework', body: edit((s) => (s.meta.framework = 'Caffe')), status: 400, message: /Unsupported framework name: Caffe/ },
  { name: 'role in the wrong case', body: edit((s) => ((s.spec as any).ps = (s.spec as any).Ps) && delete (s.spec as any).Ps), status: 400, message: /Unrecognized replica type name: ps/ },
  { name: 'no command for a role', body: edit((s) => delete (s.meta as any).cmd), status: 400, message: /meta\.cmd: required unless/ },
  { name: 'unknown environment name', body: edit((s) => (s.environment = { name: 'no-such-env' } as any)), status: 404, message: /Environment not found\./ },
  { name: 'code without url', body: edit((s) => (s.code = { syncMode: 'git' })), status: 400, message: /code\.url: required/ },
  { name: 'code sync mode s3', body: edit((s) => (s.code = { syncMode: 's3', url: 's3://b/k' })), status: 400, message: /code\.syncMode/ },
  { name: 'git url that is an option', body: edit((s) => (s.code = { syncMode: 'git', url: '--upload-pack=touch /tmp/x' })), status: 400, message: /code\.url/ },
  { name: 'priority out of range', body: edit((s) => (s.priority = 10_000)), status: 400, message: /priority/ },
  { name: 'body over 1 MiB', body: edit((s) => (s.meta.cmd = 'x'.repeat(1024 * 1024 + 1))), status: 413, message: /too large: this route takes at most 1 MiB/ },
  { name: 'wrong content type', body: 'meta=1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, message: /Content-Type/ },
  { name: 'malformed YAML', body: 'meta: [unclosed', headers: { 'content-type': 'application/yaml' }, status: 400, message: /Malformed YAML/ },
  { name: 'unknown status filter', method: 'GET', url: '/api/v1/experiment?status=Finished', status: 400, message: /status: unknown value "Finished"/ },
  { name: 'unknown status filter on logs', method: 'GET', url: '/api/v1/experiment/logs?status=bogus', status: 400, message: /status: unknown value "bogus"/ },
  { name: 'limit zero', method: 'GET', url: '/api/v1/experiment?limit=0', status: 400, message: /limit/ },
  { name: 'limit not a number', method: 'GET', url: '/api/v1/experiment?limit=ten', status: 400, message: /limit/ },
  { name: 'bad cursor', method: 'GET', url: '/api/v1/experiment?limit=5&after=abc', status: 400, message: /after: "abc"/ },
  { name: 'get with a non-id', method: 'GET', url: '/api/v1/experiment/not-an-id', status: 404, message: /not an experiment id/ },
  { name: 'get with a path-like id', method: 'GET', url: '/api/v1/experiment/..%2F..%2Fetc%2Fpasswd', status: 404, message: /not an experiment id/ },
  { name: 'get an unknown id', method: 'GET', url: '/api/v1/experiment/experiment-1647574374688-0002', status: 404, message: /^Not found experiment\.$/ },
  { name: 'patch an unknown id', method: 'PATCH', url: '/api/v1/experiment/experiment-1647574374688-0002', body: good(), status: 404, message: /^Not found experiment\.$/ },
  { name: 'delete an unknown id', method: 'DELETE', url: '/api/v1/experiment/experiment-1647574374688-0002', status: 404, message: /^Not found experiment\.$/ },
  { name: 'logs of an unknown id', method: 'GET', url: '/api/v1/experiment/logs/experiment-1647574374688-0002', status: 404, message: /^Not found experiment\.$/ },
  { name: 'an unknown route', method: 'GET', url: '/api/v1/nope', status: 404, message: /No route GET \/api\/v1\/nope/ },
  { name: 'environment without a name', method: 'POST', url: '/api/v1/environment', body: { dockerImage: 'x' }, status: 400, message: /name: is required/ },
  { name: 'environment with a path-like name', method: 'POST', url: '/api/v1/environment', body: { name: '../x', dockerImage: 'x' }, status: 400, message: /environment\.name/ },
  { name: 'an unknown environment', method: 'GET', url: '/api/v1/environment/nope', status: 404, message: /^Environment not found\.$/ },
];

for (const database of DATABASES) {
  describe(`bad input on ${database.name}`, { skip: database.skip }, async () => {
    const app = await testApp(await database.fresh());

    for (const c of cases) {
      it(`${c.name} → ${c.status}`, async () => {
        const answer = await call(app, c.method ?? 'POST', c.url ?? '/api/v1/experiment', c.body, c.headers);
        assert.equal(answer.status, c.status, JSON.stringify(answer.body));
        assert.equal(answer.body.code, c.status);
        assert.equal(answer.body.success, null);
        assert.equal(answer.body.result, null);
        assert.notEqual(answer.body.status, 'OK');
        assert.match(answer.body.message ?? '', c.message);
        assert.doesNotMatch(answer.body.message ?? '', /\n\s+at /, 'no stack trace');
      });
    }

    it('wrote nothing', async () => {
      const listed = await call(app, 'GET', '/api/v1/experiment');
      assert.deepEqual(listed.body.result, []);
    });
  });
}
