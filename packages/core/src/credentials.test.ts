import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialsKey, EMPTY_CREDENTIALS, parseCredentials, serializeCredentials, tokenFor, withToken, withoutToken } from './credentials.js';

describe('the credentials file', () => {
  it('files a master under one key whatever its spelling (localhost, [::1], trailing slash, host case)', () => {
    for (const master of ['http://127.0.0.1:32080', 'http://localhost:32080/', 'http://[::1]:32080']) assert.equal(credentialsKey(master), 'http://127.0.0.1:32080');
    assert.equal(credentialsKey('https://GPU-box.example:8443/periscope/'), 'https://gpu-box.example:8443/periscope');
    assert.notEqual(credentialsKey('http://127.0.0.1:32081'), credentialsKey('http://127.0.0.1:32080'));
  });

  it('finds the current user by default and any filed user by name; the last login becomes current', () => {
    let file = withToken(EMPTY_CREDENTIALS, 'http://localhost:32080', 'alice', 'token-a');
    file = withToken(file, 'http://127.0.0.1:32080/', 'bob', 'token-b');
    const text = serializeCredentials(file);
    assert.deepEqual(tokenFor(parseCredentials(text), 'http://[::1]:32080'), { user: 'bob', token: 'token-b' });
    assert.deepEqual(tokenFor(parseCredentials(text), 'http://127.0.0.1:32080', 'alice'), { user: 'alice', token: 'token-a' });
    assert.equal(tokenFor(parseCredentials(text), 'http://127.0.0.1:32080', 'carol'), undefined);
    assert.equal(tokenFor(parseCredentials(text), 'http://127.0.0.1:32081'), undefined);
  });

  it('after a logout the current user falls back to another filed one, and the master goes with its last user', () => {
    let file = withToken(withToken(EMPTY_CREDENTIALS, 'http://127.0.0.1:32080', 'alice', 'a'), 'http://127.0.0.1:32080', 'bob', 'b');
    file = withoutToken(file, 'http://127.0.0.1:32080', 'bob');
    assert.deepEqual(tokenFor(file, 'http://127.0.0.1:32080'), { user: 'alice', token: 'a' });
    file = withoutToken(file, 'http://127.0.0.1:32080', 'alice');
    assert.deepEqual(file, EMPTY_CREDENTIALS);
  });

  it('reads a missing, malformed or foreign file as empty, and skips entries that are not credentials', () => {
    for (const text of [undefined, '', 'not json', '[]', 'null', '{"version":2,"masters":{}}']) assert.deepEqual(parseCredentials(text), EMPTY_CREDENTIALS, String(text));
    const mixed = parseCredentials('{"version":1,"masters":{"http://a:1":{"user":7,"tokens":{}},"http://b:1":{"user":"x","tokens":{"x":"t","y":5}}}}');
    assert.deepEqual(mixed, { version: 1, masters: { 'http://b:1': { user: 'x', tokens: { x: 't' } } } });
  });
});
