/**
 * --cert-path, --cert-name and --noverify against a real HTTPS server with a self-signed certificate made here
 * by openssl: trusted, named, unchecked; without them, exit 3 saying what is wrong and which flag helps.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { selfSignedCertificate } from '@periscope/server';
import { oneLine, periscope, startServer, tempDir } from './testing/cli.js';

const local = selfSignedCertificate(tempDir(), 'localhost', 'DNS:localhost,IP:127.0.0.1');
const { master } = await startServer({ tls: { cert: readFileSync(local.cert), key: readFileSync(local.key) } });
const named = selfSignedCertificate(tempDir(), 'periscope.test', 'DNS:periscope.test');
const namedServer = await startServer({ tls: { cert: readFileSync(named.cert), key: readFileSync(named.key) } });
const MASTER = master.replaceAll('.', '\\.');

describe('periscope against an https server', () => {
  it('works with --cert-path, and with --noverify', async () => {
    assert.match(master, /^https:/);
    const trusted = await periscope(['--cert-path', local.cert, 'user', 'whoami'], { master });
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.equal(trusted.stdout, `admin at ${master} (admin)\n`);
    const unchecked = await periscope(['--noverify', 'experiment', 'list'], { master });
    assert.equal(unchecked.code, 0, unchecked.stderr);
    assert.equal(unchecked.stdout, 'No experiments.\n');
  });

  it('without either exits 3: the certificate is self-signed, pass --cert-path or --noverify', async () => {
    oneLine(
      await periscope(['experiment', 'list'], { master }),
      3,
      new RegExp(`^periscope: cannot connect securely to ${MASTER}: its certificate is self-signed \\(pass --cert-path FILE with the certificate or its CA, or --noverify to skip the check\\)$`),
    );
  });

  it('a certificate for another name needs --cert-name', async () => {
    oneLine(
      await periscope(['--cert-path', named.cert, 'user', 'whoami'], { master: namedServer.master }),
      3,
      /: its certificate is issued for another name \(DNS:periscope\.test\), not 127\.0\.0\.1 \(pass --cert-name NAME with a name the certificate holds, or --noverify/,
    );
    const run = await periscope(['--cert-path', named.cert, '--cert-name', 'periscope.test', 'user', 'whoami'], { master: namedServer.master });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^admin at https:/);
  });

  it('a --cert-path that cannot be read or is no certificate, or one with an http master, exits 2', async () => {
    oneLine(await periscope(['--cert-path', '/nonexistent/ca.pem', 'experiment', 'list'], { master }), 2, /^periscope: --cert-path: cannot read \/nonexistent\/ca\.pem \(ENOENT\)$/);
    const notPem = join(tempDir(), 'ca.pem');
    writeFileSync(notPem, 'not a certificate\n');
    oneLine(await periscope(['--cert-path', notPem, 'experiment', 'list'], { master }), 2, /^periscope: --cert-path: ".*ca\.pem" holds no PEM certificate$/);
    oneLine(await periscope(['--cert-path', local.cert, 'experiment', 'list'], { master: 'http://127.0.0.1:32080' }), 2, /^periscope: --cert-path applies to an https:\/\/ master only, not http:\/\/127\.0\.0\.1:32080$/);
  });
});
