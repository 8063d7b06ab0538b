/**
 * HTTPS with certificates made here by openssl: a self-signed one for localhost/127.0.0.1 and one issued only
 * to `periscope.test`. Trusted through `certPath`, a name through `certName`, or not checked with `noverify`;
 * without them the client fails at once, saying what is wrong and which option helps.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { selfSignedCertificate } from '@periscope/server';
import { Periscope, PeriscopeConnectionError } from './index.js';
import { parkedSpec, startServer, tempDir } from './testing/server.js';

const local = selfSignedCertificate(tempDir(), 'localhost', 'DNS:localhost,IP:127.0.0.1');
const server = await startServer({ tls: { cert: readFileSync(local.cert), key: readFileSync(local.key) } });
const named = selfSignedCertificate(tempDir(), 'periscope.test', 'DNS:periscope.test');
const namedServer = await startServer({ tls: { cert: readFileSync(named.cert), key: readFileSync(named.key) } });

function rejectsCertificate(promise: Promise<unknown>, problem: string, message: RegExp): Promise<void> {
  return assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof PeriscopeConnectionError, String(error));
    assert.equal(error.code, 'UNREACHABLE');
    assert.equal(error.certificate, problem);
    assert.match(error.message, message);
    return true;
  });
}

describe('an https master with a self-signed certificate', () => {
  it('is trusted through certPath: login, calls and a raw download all go over TLS', async () => {
    assert.match(server.master, /^https:\/\/127\.0\.0\.1:\d+$/);
    const client = new Periscope({ master: server.master, certPath: local.cert });
    assert.equal((await client.whoami()).username, 'admin');
    const created = await client.experiments.create(parkedSpec('over-tls'));
    assert.equal((await client.experiments.get(created.experimentId)).spec.meta.name, 'over-tls');
    await server.app.users.create({ username: 'kim', password: 'kim-pw' });
    const kim = new Periscope({ master: server.master, user: 'kim', password: 'kim-pw', certPath: local.cert });
    assert.equal((await kim.whoami()).username, 'kim');
    // localhost is in the certificate too, and finds the token filed under 127.0.0.1.
    assert.equal((await new Periscope({ master: server.master.replace('127.0.0.1', 'localhost'), certPath: local.cert }).whoami()).username, 'admin');
  });

  it('works unchecked with noverify', async () => {
    assert.equal((await new Periscope({ master: server.master, noverify: true }).whoami()).username, 'admin');
  });

  it('fails at once without either, saying the certificate is self-signed and what to pass', async () => {
    const sent: string[] = [];
    const counting: typeof fetch = (input, init) => {
      sent.push(String(input));
      return fetch(input, init);
    };
    const client = new Periscope({ master: server.master, fetch: counting });
    await rejectsCertificate(
      client.whoami(),
      'untrusted',
      new RegExp(`^cannot reach the Periscope server at ${server.master.replaceAll('.', '\\.')}: its certificate is self-signed \\(pass certPath with the PEM file of the certificate or its CA, or noverify to skip the check\\)$`),
    );
    assert.equal(sent.length, 1, 'a certificate problem is not retried');
  });

  it('a certPath that cannot be read is a TypeError naming it', async () => {
    const missing = join(tempDir(), 'missing.pem');
    await assert.rejects(new Periscope({ master: server.master, certPath: missing }).whoami(), { name: 'TypeError', message: `certPath: cannot read ${JSON.stringify(missing)} (ENOENT)` });
    const notPem = join(tempDir(), 'not.pem');
    writeFileSync(notPem, 'hello');
    await assert.rejects(new Periscope({ master: server.master, certPath: notPem }).whoami(), { name: 'TypeError', message: /holds no PEM certificate$/ });
  });

  it('trusting another certificate is not enough', async () => {
    await rejectsCertificate(new Periscope({ master: server.master, certPath: named.cert }).whoami(), 'untrusted', /self-signed/);
  });
});

describe('a certificate issued to another name', () => {
  it('is refused for the address, naming the names it holds, and accepted with certName', async () => {
    await rejectsCertificate(
      new Periscope({ master: namedServer.master, certPath: named.cert }).whoami(),
      'wrong-name',
      /: its certificate is issued for another name \(DNS:periscope\.test\), not 127\.0\.0\.1 \(pass certName with a name the certificate holds, or noverify to skip the check\)$/,
    );
    const client = new Periscope({ master: namedServer.master, certPath: named.cert, certName: 'periscope.test' });
    assert.equal((await client.whoami()).username, 'admin');
    await rejectsCertificate(new Periscope({ master: namedServer.master, certPath: named.cert, certName: 'other.test' }).whoami(), 'wrong-name', /\(DNS:periscope\.test\), not other\.test /);
  });
});
