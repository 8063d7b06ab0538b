/**
 * Git passwords (`code.git.password` and the password of a URL's userinfo) never come back in an answer or a
 * log, are stored sealed with the data dir's key (not in the SQLite file, its WAL or PostgreSQL's rows), and
 * still authenticate the clone.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pg from 'pg';
import { SecretBox, SECRET_KEY_FILE } from '../secrets/secret-box.js';
import { call, testApp, waitForStatus } from '../testing/app.js';
import { DATABASES, eventually, tempDir } from '../testing/databases.js';
import { gitHttpServer } from '../testing/git-server.js';
import { openCode } from './secrets.js';

function makeRepository(): string {
  const repo = join(tempDir(), 'repo');
  mkdirSync(repo);
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd: repo });
  git('init', '--quiet', '--initial-branch=main');
  writeFileSync(join(repo, 'train.py'), 'print("from the private repo")\n');
  git('add', '.');
  git('commit', '--quiet', '-m', 'main');
  return repo;
}

/** Everything the app logs, at every level. */
function capturedLog(): { stream: Writable; text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

// Distinctive enough to be searched for in raw database bytes.
const FIELD_PASSWORD = 'field-pa55word-8d1f3c';
const URL_PASSWORD = 'url-pa55word-77ab02';

const experiment = (name: string, code: object, autoStart = true) => ({
  autoStart,
  meta: { name, framework: 'Custom', cmd: 'test "$(cat train.py)" = \'print("from the private repo")\'' },
  spec: { Worker: { replicas: 1, resources: 'cpu=0.1,memory=64M' } },
  code,
});

for (const database of DATABASES) {
  describe(`git passwords on ${database.name}`, { skip: database.skip }, () => {
    it('are redacted in every answer and sealed at rest, and the clone still authenticates', async () => {
      const repo = makeRepository();
      const fieldServer = await gitHttpServer(repo, tempDir(), 'bot', FIELD_PASSWORD);
      const urlServer = await gitHttpServer(repo, tempDir(), 'alice', URL_PASSWORD);
      const dataDir = tempDir();
      const target = await database.fresh();
      const log = capturedLog();
      const app = await testApp(target, { dataDir, logger: { level: 'trace', stream: log.stream }, capacity: { cpus: 4, memoryMb: 4096, gpus: [] } });

      const withField = { syncMode: 'git', git: { url: fieldServer.url, username: 'bot', password: FIELD_PASSWORD } };
      const inUrl = { syncMode: 'git', url: urlServer.url.replace('http://', `http://alice:${URL_PASSWORD}@`) };
      const inGitUrl = { syncMode: 'git', git: { url: urlServer.url.replace('http://', `http://alice:${URL_PASSWORD}@`) } };
      const answers: string[] = [];
      const ids: string[] = [];
      for (const [name, code] of [['field', withField], ['url', inUrl], ['git-url', inGitUrl]] as const) {
        const created = await call(app, 'POST', '/api/v1/experiment', experiment(name, code));
        assert.equal(created.status, 200, created.body.message);
        answers.push(JSON.stringify(created.body));
        ids.push(created.body.result.experimentId);
      }
      // The clones authenticated: every run found the repository's file in its work dir.
      for (const id of ids) await waitForStatus(app, id, ['Succeeded']);
      assert.ok(fieldServer.authorizations.includes(`Basic ${Buffer.from(`bot:${FIELD_PASSWORD}`).toString('base64')}`));
      assert.ok(urlServer.authorizations.includes(`Basic ${Buffer.from(`alice:${URL_PASSWORD}`).toString('base64')}`));

      const [field, url, gitUrl] = await Promise.all(ids.map(async (id) => (await call(app, 'GET', `/api/v1/experiment/${id}`)).body.result));
      assert.equal(field.spec.code.git.password, '******');
      assert.equal(url.spec.code.url, urlServer.url.replace('http://', 'http://alice:******@'));
      assert.equal(gitUrl.spec.code.git.url, urlServer.url.replace('http://', 'http://alice:******@'));
      const list = await call(app, 'GET', '/api/v1/experiment');
      answers.push(JSON.stringify([field, url, gitUrl]), JSON.stringify(list.body), JSON.stringify((await call(app, 'GET', '/api/v1/experiment/logs')).body));
      for (const answer of answers) {
        assert.ok(!answer.includes(FIELD_PASSWORD) && !answer.includes(URL_PASSWORD), answer);
        assert.ok(!answer.includes('enc:v1:'), 'a sealed value is not shown either');
      }

      // At rest: sealed, nowhere in clear.
      if (database.name === 'sqlite') {
        const bytes = [target, `${target}-wal`].filter(existsSync).map((file) => readFileSync(file));
        assert.ok(bytes.some((b) => b.includes('enc:v1:')), 'the sealed values are stored');
        for (const b of bytes) assert.ok(!b.includes(FIELD_PASSWORD) && !b.includes(URL_PASSWORD), 'a password is in clear in the SQLite file or its WAL');
      } else {
        const client = new pg.Client({ connectionString: target });
        await client.connect();
        const rows = (await client.query<{ spec: string }>('select spec from experiments')).rows.map((row) => row.spec);
        await client.end();
        assert.equal(rows.length, 3);
        for (const spec of rows) {
          assert.ok(spec.includes('enc:v1:'), spec);
          assert.ok(!spec.includes(FIELD_PASSWORD) && !spec.includes(URL_PASSWORD), spec);
        }
      }
      // The key is beside the database, owner-only, and opens what is stored.
      const keyFile = join(dataDir, SECRET_KEY_FILE);
      assert.equal(statSync(keyFile).mode & 0o777, 0o600);
      assert.equal(statSync(keyFile).size, 32);
      const key = readFileSync(keyFile);
      const box = await SecretBox.load(dataDir);
      assert.equal(openCode(box, (await app.experiments.record(ids[0]!)).spec.code!).git!.password, FIELD_PASSWORD);

      // A PATCH of what GET answered keeps the stored passwords.
      for (const [i, got] of [field, url, gitUrl].entries()) {
        const patched = await call(app, 'PATCH', `/api/v1/experiment/${got.experimentId}`, got.spec);
        assert.equal(patched.status, 200, patched.body.message);
        assert.deepEqual(patched.body.result.spec, got.spec);
        const opened = openCode(box, (await app.experiments.record(got.experimentId)).spec.code!);
        if (i === 0) assert.equal(opened.git!.password, FIELD_PASSWORD);
        if (i === 1) assert.equal(opened.url, inUrl.url);
        if (i === 2) assert.equal(opened.git!.url, inGitUrl.git.url);
      }
      // ****** for a URL of another user or host stands for nothing: refused, naming the field.
      const elsewhere = await call(app, 'PATCH', `/api/v1/experiment/${url.experimentId}`, { ...url.spec, code: { syncMode: 'git', url: 'http://alice:******@example.com/x.git' } });
      assert.equal(elsewhere.status, 400);
      assert.match(elsewhere.body.message, /^code\.url: \*{6} stands for the stored password of http:\/\/alice@example\.com/);
      // A new password replaces the old one.
      const renewed = await call(app, 'PATCH', `/api/v1/experiment/${field.experimentId}`, { ...field.spec, code: { ...field.spec.code, git: { ...field.spec.code.git, password: 'brand-new' } } });
      assert.equal(renewed.status, 200, renewed.body.message);
      assert.equal(openCode(box, (await app.experiments.record(field.experimentId)).spec.code!).git!.password, 'brand-new');

      // Whatever the app logged at trace level (errors, lifecycle lines) holds no secret.
      const logged = log.text();
      for (const secret of [FIELD_PASSWORD, URL_PASSWORD, key.toString('base64'), key.toString('hex')]) assert.ok(!logged.includes(secret), 'a secret is in the log');
    });

    it('a row stored before sealing (clear password) still reads, redacted, and opens as is', async () => {
      const target = await database.fresh();
      const dataDir = tempDir();
      const older = await testApp(target, { dataDir });
      const created = await call(older, 'POST', '/api/v1/experiment', experiment('legacy', { syncMode: 'git', git: { url: 'https://127.0.0.1:9/r.git', username: 'u', password: 'sealed-now' } }, false));
      assert.equal(created.status, 200, created.body.message);
      const id = created.body.result.experimentId;
      const record = await older.experiments.record(id);
      const clear = { ...record.spec, code: { syncMode: 'git', url: 'https://old:clear-old@127.0.0.1:9/r.git', git: { url: 'https://127.0.0.1:9/r.git', username: 'u', password: 'clear-old' } } };
      // What an older server left in the database, read by a server started on it afterwards.
      await older.db.kysely.updateTable('experiments').set({ spec: JSON.stringify(clear) }).where('id', '=', id).execute();
      await older.close();
      const app = await testApp(target, { dataDir });
      const got = (await call(app, 'GET', `/api/v1/experiment/${id}`)).body.result;
      assert.equal(got.spec.code.git.password, '******');
      assert.equal(got.spec.code.url, 'https://old:******@127.0.0.1:9/r.git');
      const stored = (await app.experiments.record(id)).spec.code!;
      const opened = openCode(await SecretBox.load(tempDir()), stored);
      assert.deepEqual(opened, stored, 'clear values pass through opening unchanged');
      // A PATCH of the redacted answer seals the old clear password.
      assert.equal((await call(app, 'PATCH', `/api/v1/experiment/${id}`, got.spec)).status, 200);
      const resealed = (await app.experiments.record(id)).spec.code!;
      assert.match(resealed.git!.password!, /^enc:v1:/);
      assert.match(resealed.url!, /^https:\/\/old:enc:v1:[\w-]+@127\.0\.0\.1:9\/r\.git$/);
      // The prepare's clone (of a port nothing listens on) is over before the test's dirs are removed under it.
      await eventually('the prepare to end', async () => !['Accepted', 'Preparing'].includes((await app.experiments.record(id)).status));
    });
  });
}
