/**
 * Auth as a user meets it on a real server process: the first admin and its credentials file, `--auth none`
 * (loopback only), and HTTPS with a self-signed certificate, driven with curl as the README's examples are.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseCredentials, tokenFor } from '@periscope/core';
import { selfSignedCertificate } from './testing/certificates.js';
import { eventually, tempDir } from './testing/databases.js';
import { MAIN, start, stop, tokenOf } from './testing/server-process.js';
import { freePort } from './testing/free-port.js';

const PASSWORD_LINE = /Created the first user: admin, password (\S+) \(shown only now/;

function curl(args: string[]): { code: number; body: string; stderr: string } {
  const result = spawnSync('curl', ['-sS', '--max-time', '20', ...args], { encoding: 'utf8' });
  return { code: result.status ?? -1, body: result.stdout, stderr: result.stderr };
}

function json(text: string): any {
  return JSON.parse(text);
}


describe('auth on a real server process', () => {
  it('creates admin on first start, prints its password once and files a token (0600) the CLI and SDK use', async () => {
    const dataDir = tempDir();
    const credentials = join(tempDir(), 'nested', 'credentials');
    const first = await start(['--data-dir', dataDir, '--port', '0'], { PERISCOPE_CREDENTIALS: credentials });
    const output = first.output();
    const password = PASSWORD_LINE.exec(output)?.[1];
    assert.ok(password, output);
    assert.equal(statSync(credentials).mode & 0o777, 0o600);
    assert.equal(statSync(join(credentials, '..')).mode & 0o777, 0o700);
    const filed = tokenFor(parseCredentials(readFileSync(credentials, 'utf8')), first.base.replace('127.0.0.1', 'localhost'));
    assert.equal(filed?.user, 'admin');
    const me = curl(['-H', `Authorization: Bearer ${filed!.token}`, `${first.base}/api/v1/me`]);
    assert.equal(json(me.body).result.username, 'admin');
    const login = curl(['-X', 'POST', '-H', 'Content-Type: application/json', '-d', JSON.stringify({ username: 'admin', password }), `${first.base}/api/v1/auth/login`]);
    assert.equal(json(login.body).result.user.admin, true);
    const anonymous = curl(['-i', `${first.base}/api/v1/experiment`]);
    assert.match(anonymous.body, /^HTTP\/1\.1 401/);
    assert.match(anonymous.body, /www-authenticate: Bearer/i);
    assert.match(anonymous.body, /"status":"UNAUTHORIZED"/);
    // The health check stays public (load balancers and `periscope health` call it).
    assert.equal(json(curl([`${first.base}/api/v1/health`]).body).result.status, 'healthy');
    // The password shows once (the welcome line); no token is ever printed or logged.
    assert.equal(first.output().split(password).length - 1, 1);
    assert.ok(!first.output().includes(filed!.token) && !first.output().includes(json(login.body).result.token));
    await stop(first);

    const second = await start(['--data-dir', dataDir, '--port', '0'], { PERISCOPE_CREDENTIALS: join(tempDir(), 'credentials') });
    assert.doesNotMatch(second.output(), /password/);
    await stop(second);

    // The first password lost: --reset-admin-password gives a new one, once; the old one and old tokens stop working.
    const third = await start(['--data-dir', dataDir, '--port', '0', '--reset-admin-password'], { PERISCOPE_CREDENTIALS: join(tempDir(), 'credentials') });
    const renewed = /New password of admin: (\S+) \(shown only now/.exec(third.output())?.[1];
    assert.ok(renewed && renewed !== password, third.output());
    const loginWith = (pw: string) => json(curl(['-X', 'POST', '-H', 'Content-Type: application/json', '-d', JSON.stringify({ username: 'admin', password: pw }), `${third.base}/api/v1/auth/login`]).body);
    assert.equal(loginWith(password).status, 'UNAUTHORIZED');
    assert.equal(loginWith(renewed).result.user.username, 'admin');
    assert.equal(json(curl(['-H', `Authorization: Bearer ${filed!.token}`, `${third.base}/api/v1/me`]).body).status, 'UNAUTHORIZED');
    await stop(third);
  });

  it('--auth none serves and runs the Submarine curl examples without a token on loopback, and refuses any other address', async () => {
    const started = await start(['--data-dir', tempDir(), '--port', '0', '--auth', 'none']);
    const body = JSON.stringify({ meta: { name: 'tf-mnist-json', namespace: 'default', framework: 'TensorFlow', cmd: 'echo trained' }, spec: { Worker: { replicas: 1, resources: 'cpu=0.1,memory=64M' } } });
    const created = json(curl(['-X', 'POST', '-H', 'Content-Type: application/json', '-d', body, `${started.base}/api/v1/experiment`]).body);
    assert.equal(created.status, 'OK', JSON.stringify(created));
    const id = created.result.experimentId as string;
    const listed = json(curl(['-X', 'GET', `${started.base}/api/v1/experiment`]).body);
    assert.deepEqual(listed.result.map((e: { experimentId: string }) => e.experimentId), [id]);
    assert.equal(json(curl([`${started.base}/api/v1/me`]).body).result.admin, true);
    // It runs to the end as admin (its executor's task token acts as admin, who exists in this mode too).
    const finished = await eventually('the experiment to finish', () => {
      const status = json(curl([`${started.base}/api/v1/experiment/${id}`]).body).result.status as string;
      return ['Succeeded', 'Failed'].includes(status) && status;
    });
    assert.equal(finished, 'Succeeded', started.output());
    assert.deepEqual(json(curl([`${started.base}/api/v1/experiment/logs/${id}`]).body).result.logContent[0].podLog, ['trained']);
    await stop(started);

    for (const [args, message] of [
      [['--auth', 'none', '--host', '0.0.0.0'], /needs a loopback --host/],
      [['--auth', 'maybe'], /auth: "maybe" is not one of token, none/],
      [['--tls-cert', 'cert.pem'], /give both --tls-cert and --tls-key/],
    ] as const) {
      const result = spawnSync(process.execPath, ['--import', 'tsx', MAIN, '--data-dir', tempDir(), '--port', '0', ...args], { encoding: 'utf8' });
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    }
  });

  it('answers its first request only once the first admin\'s credentials are filed', async () => {
    const port = await freePort();
    const credentials = join(tempDir(), 'credentials');
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--data-dir', tempDir(), '--port', String(port)], { env: { ...process.env, PERISCOPE_CREDENTIALS: credentials, PERISCOPE_LOG_LEVEL: 'warn' }, stdio: 'ignore' });
    after(() => child.kill('SIGKILL'));
    const base = `http://127.0.0.1:${port}`;
    // Poll the port as a CI script does; read the file at the very first answer.
    const first = await eventually('the port to answer', () => fetch(`${base}/api/v1/health`).then((r) => r.status, () => undefined), 60_000);
    const filed = existsSync(credentials) ? tokenFor(parseCredentials(readFileSync(credentials, 'utf8')), base) : undefined;
    assert.equal(first, 200);
    assert.ok(filed?.token, `no token for ${base} in ${credentials} at the first answer`);
  });

  it('serves HTTPS with --tls-cert/--tls-key: curl trusts it with the CA file and refuses it without; executors report over it', async () => {
    const { cert, key } = selfSignedCertificate(tempDir(), 'localhost', 'DNS:localhost,IP:127.0.0.1');
    const started = await start(['--data-dir', tempDir(), '--port', '0', '--tls-cert', cert, '--tls-key', key]);
    assert.match(started.base, /^https:\/\/127\.0\.0\.1:\d+$/);
    const trusted = curl(['--cacert', cert, `${started.base}/api/v1/health`]);
    assert.equal(json(trusted.body).result.status, 'healthy', trusted.stderr);
    const untrusted = curl([`${started.base}/api/v1/health`]);
    assert.equal(untrusted.code, 60, untrusted.stderr); // curl: peer certificate cannot be authenticated
    const plain = curl([started.base.replace('https:', 'http:') + '/api/v1/health']);
    assert.notEqual(plain.code, 0);

    // Executors report over the same HTTPS, trusting the certificate the server hands them, with their task token.
    const auth = ['--cacert', cert, '-H', `Authorization: Bearer ${tokenOf(started.base)}`];
    const cmd = `python3 -c "import periscope; periscope.init().report_training_metrics(1, {'loss': 0.5})"`;
    const spec = JSON.stringify({ meta: { name: 'over-tls', framework: 'Custom', cmd }, spec: { Worker: { resources: 'cpu=0.1,memory=64M' } } });
    const id = json(curl([...auth, '-X', 'POST', '-H', 'Content-Type: application/json', '-d', spec, `${started.base}/api/v1/experiment`]).body).result.experimentId;
    const finished = await eventually('the experiment over TLS to finish', async () => {
      const status = json(curl([...auth, `${started.base}/api/v1/experiment/${id}`]).body).result.status;
      return ['Succeeded', 'Failed'].includes(status) && status;
    });
    const log = json(curl([...auth, `${started.base}/api/v1/experiment/logs/${id}`]).body).result.logContent[0].podLog;
    assert.equal(finished, 'Succeeded', log.join('\n'));
    const trial = json(curl([...auth, `${started.base}/api/v1/experiment/${id}/trials`]).body).result[0].id;
    const metrics = json(curl([...auth, `${started.base}/api/v1/trials/${trial}/metrics`]).body).result;
    assert.deepEqual(metrics.map((m: { metrics: unknown }) => m.metrics), [{ loss: 0.5 }]);
    await stop(started);
  });
});
