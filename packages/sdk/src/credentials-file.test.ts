/**
 * The SDK's reading of the credentials file gives core's answers (it mirrors `tokenFor` and `credentialsKey`
 * to keep TypeBox out of every CLI start): same master spellings, same default user, same garbage handling.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY_CREDENTIALS, parseCredentials, serializeCredentials, tokenFor, withToken, withoutToken } from '@periscope/core';
import { lookUp } from './credentials-file.js';

const MASTERS = ['http://127.0.0.1:32080', 'http://localhost:32080/', 'http://[::1]:32080', 'https://gpu-box.example:8443/periscope/', 'https://GPU-box.example:8443/periscope', 'http://127.0.0.1:32081'];

describe('the credentials file, as the SDK reads it', () => {
  it('finds what core finds, for every master spelling, user and current user', () => {
    let file = withToken(EMPTY_CREDENTIALS, 'http://localhost:32080', 'alice', 'token-a');
    file = withToken(file, 'http://127.0.0.1:32080/', 'bob', 'token-b');
    file = withToken(file, 'https://gpu-box.example:8443/periscope', 'carol', 'token-c');
    file = withoutToken(withToken(file, 'http://127.0.0.1:32081', 'dave', 'token-d'), 'http://127.0.0.1:32081', 'dave');
    const text = serializeCredentials(file);
    let found = 0;
    for (const master of MASTERS) {
      for (const user of [undefined, 'alice', 'bob', 'carol', 'dave', 'nobody']) {
        const expected = tokenFor(parseCredentials(text), master, user);
        assert.deepEqual(lookUp(text, master, user), expected, `${master} ${user}`);
        if (expected) found++;
      }
    }
    // 127.0.0.1, localhost, [::1] × (current, alice, bob) + two spellings of gpu-box × (current, carol).
    assert.equal(found, 13, 'the cases include tokens found under other spellings');
    assert.deepEqual(lookUp(text, 'http://localhost:32080', undefined), { user: 'bob', token: 'token-b' });
  });

  it('finds nothing in a missing, malformed or foreign file, as core', () => {
    for (const text of [undefined, '', 'not json', '[]', '{"version":2,"masters":{}}', '{"version":1,"masters":{"http://127.0.0.1:32080":{"user":7,"tokens":{}}}}']) {
      assert.equal(lookUp(text, MASTERS[0]!, undefined), undefined, String(text));
      assert.equal(tokenFor(parseCredentials(text), MASTERS[0]!), undefined, String(text));
    }
  });
});
