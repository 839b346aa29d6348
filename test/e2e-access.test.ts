import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { CLI, startServer, type RunningServer } from './helpers/server.js';
import { rawGet } from './helpers/http-raw.js';
import { sleep, waitFor } from './helpers/clients.js';
import { pidsWithToken } from '../load-tests/proc.js';
import { basicAuthHeader } from '../src/access/basic-auth.js';
import { signedUrl } from '../src/access/signed-url.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'voyandz-access-'));
const SECRET = 'a-url-signing-secret-of-32-bytes!';
const users = join(dir, 'users.htpasswd');
const key = join(dir, 'url.key');
// As `htpasswd -B` writes them ($2y$), and as bcrypt libraries do ($2b$); cost 5 keeps the test quick.
const y = (password: string): string => bcrypt.hashSync(password, 5).replace(/^\$2b\$/, '$2y$');
writeFileSync(users, `# made by the test\nalice:${y('wonderland')}\nbob:${bcrypt.hashSync('builder', 5)}\n`);
writeFileSync(key, `${SECRET}\n`);

// The token is sh's $0: it shows in the command line, for the pid checks.
const program = (token: string): string => `sh -c 'while :; do head -c 2000 /dev/zero; sleep 0.1; done' ${token}`;
const config = `
workers: 1
pages:
  config: true
trusted_proxies: [127.0.0.3/32]
access:
  allow: [127.0.0.0/29, "::1"]
  deny: [127.0.0.4]
admin_access:
  allow: [127.0.0.1/32]
streams:
  open:
    command: ${program('acc-open')}
    mimetype: application/octet-stream
  basic:
    command: ${program('acc-basic')}
    mimetype: application/octet-stream
    access: { users: ${users} }
  signed:
    command: ${program('acc-signed')}
    mimetype: application/octet-stream
    access: { signed: { secret_file: ${key} } }
  either:
    command: ${program('acc-either')}
    mimetype: application/octet-stream
    access:
      users: { guard: "${bcrypt.hashSync('tower', 5)}" }
      signed: { secret_file: ${key}, param: token }
  guarded:
    command: ${program('acc-guarded')}
    mimetype: application/octet-stream
    max_clients: 3
    access: { users: ${users}, allow: [127.0.0.1/32] }
`;

let server: RunningServer;
let configFile: string;

before(async () => {
  server = await startServer(config);
  configFile = join(server.dir, 'voyandz.yaml');
});

after(async () => {
  assert.equal(await server.stop(), 0);
  rmSync(dir, { recursive: true, force: true });
});

const from = (localAddress: string) => ({ port: server.port, localAddress });
const code = (body: Buffer): string => body.toString('utf8').split(':')[0] ?? '';

test('IPv4 allow and deny lists: allowed, outside allow, denied', async () => {
  assert.equal((await rawGet(from('127.0.0.1'), '/stream/open')).status, 200);
  assert.equal((await rawGet(from('127.0.0.2'), '/stream/open')).status, 200);
  const outside = await rawGet(from('127.0.0.9'), '/stream/open');
  assert.equal(outside.status, 403);
  assert.equal(code(outside.body), 'VOYANDZ_ERR_IP_DENIED');
  const denied = await rawGet(from('127.0.0.4'), '/');
  assert.equal(denied.status, 403, 'deny wins over allow, on pages too');
  const line = await server.waitForLog((l) => l.msg === 'refused' && l.client === '127.0.0.4');
  assert.equal(line.reason, 'ip');
  assert.match(String(line.remote), /^127\.0\.0\.4:\d+$/);
});

test('X-Forwarded-For and Forwarded are believed only from a trusted proxy', async () => {
  // Not a trusted proxy: the header is ignored either way.
  assert.equal((await rawGet(from('127.0.0.9'), '/stream/open', { 'X-Forwarded-For': '127.0.0.1' })).status, 403);
  assert.equal((await rawGet(from('127.0.0.2'), '/stream/open', { 'X-Forwarded-For': '127.0.0.9' })).status, 200);
  // The trusted proxy speaks for its client.
  assert.equal((await rawGet(from('127.0.0.3'), '/stream/open', { 'X-Forwarded-For': '127.0.0.9' })).status, 403);
  assert.equal((await rawGet(from('127.0.0.3'), '/stream/open', { 'X-Forwarded-For': '10.1.2.3, 127.0.0.1' })).status, 200);
  assert.equal((await rawGet(from('127.0.0.3'), '/stream/open', { Forwarded: 'for=127.0.0.4;proto=http' })).status, 403);
});

test('HTTP Basic with an htpasswd file ($2y$ and $2b$): missing, wrong, unknown user, right', async () => {
  const none = await rawGet(from('127.0.0.1'), '/stream/basic');
  assert.equal(none.status, 401);
  assert.equal(none.headers['www-authenticate'], 'Basic realm="voyandz"');
  assert.equal(code(none.body), 'VOYANDZ_ERR_AUTH_REQUIRED');
  const wrong = await rawGet(from('127.0.0.1'), '/stream/basic', { Authorization: basicAuthHeader('alice', 'nope') });
  assert.equal(wrong.status, 401);
  assert.equal(code(wrong.body), 'VOYANDZ_ERR_AUTH_FAILED');
  assert.equal(wrong.headers['www-authenticate'], 'Basic realm="voyandz"');
  assert.equal((await rawGet(from('127.0.0.1'), '/stream/basic', { Authorization: basicAuthHeader('mallory', 'wonderland') })).status, 401);
  assert.equal((await rawGet(from('127.0.0.1'), '/stream/basic', { Authorization: basicAuthHeader('alice', 'wonderland') })).status, 200);
  assert.equal((await rawGet(from('127.0.0.1'), '/stream/basic', { Authorization: basicAuthHeader('bob', 'builder') })).status, 200);
  // The per-stream override keeps the server-wide IP lists.
  assert.equal((await rawGet(from('127.0.0.4'), '/stream/basic', { Authorization: basicAuthHeader('bob', 'builder') })).status, 403);
});

test('signed URLs: valid (from voyandz sign), tampered, for another path, expired, missing', async () => {
  const { stdout } = await run(process.execPath, [CLI, 'sign', '/stream/signed', '--ttl', '60', '-f', configFile]);
  const url = stdout.trim();
  assert.match(url, /^\/stream\/signed\?expires=\d+&sig=[\w-]{43}$/);
  assert.equal((await rawGet(from('127.0.0.1'), url)).status, 200);
  const tampered = url.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`);
  const bad = await rawGet(from('127.0.0.1'), tampered);
  assert.equal(bad.status, 403);
  assert.equal(code(bad.body), 'VOYANDZ_ERR_SIGNATURE_INVALID');
  const otherPath = signedUrl(Buffer.from(SECRET), 'sig', '/stream/open', Math.floor(Date.now() / 1000) + 60).replace('/stream/open', '/stream/signed');
  assert.equal((await rawGet(from('127.0.0.1'), otherPath)).status, 403);
  const later = url.replace(/expires=(\d+)/, (_m, e: string) => `expires=${Number(e) + 1000}`);
  assert.equal((await rawGet(from('127.0.0.1'), later)).status, 403, 'the expiry is signed');
  const expired = await rawGet(from('127.0.0.1'), signedUrl(Buffer.from(SECRET), 'sig', '/stream/signed', Math.floor(Date.now() / 1000) - 5));
  assert.equal(expired.status, 403);
  assert.equal(code(expired.body), 'VOYANDZ_ERR_SIGNATURE_EXPIRED');
  const missing = await rawGet(from('127.0.0.1'), '/stream/signed');
  assert.equal(missing.status, 403);
  assert.equal(missing.headers['www-authenticate'], undefined, 'no Basic offered, no challenge');
});

test('users or a signed URL: either one lets a client in; without both, 401 since Basic is offered', async () => {
  const none = await rawGet(from('127.0.0.1'), '/stream/either');
  assert.equal(none.status, 401);
  assert.match(none.body.toString(), /HTTP Basic\) or a valid signed URL/);
  const secret = Buffer.from(SECRET);
  const now = Math.floor(Date.now() / 1000);
  const expired = await rawGet(from('127.0.0.1'), signedUrl(secret, 'token', '/stream/either', now - 5));
  assert.equal(expired.status, 401);
  assert.equal((await rawGet(from('127.0.0.1'), signedUrl(secret, 'token', '/stream/either', now + 60))).status, 200);
  assert.equal((await rawGet(from('127.0.0.1'), '/stream/either', { Authorization: basicAuthHeader('guard', 'tower') })).status, 200);
  assert.equal((await rawGet(from('127.0.0.1'), '/stream/either', { Authorization: basicAuthHeader('guard', 'wrong') })).status, 401);
});

test('admin_access on /metrics and /stat; refusals are counted by route and reason', async () => {
  const refused = await rawGet(from('127.0.0.2'), '/metrics');
  assert.equal(refused.status, 403);
  assert.equal((await rawGet(from('127.0.0.2'), '/stat.json')).status, 403);
  assert.equal((await rawGet(from('127.0.0.2'), '/')).status, 200, 'the home page follows access, not admin_access');
  const metrics = await rawGet(from('127.0.0.1'), '/metrics', {}, 2000);
  assert.equal(metrics.status, 200);
  const text = metrics.body.toString();
  assert.match(text, /voyandz_requests_refused_total\{route="\/metrics",reason="ip"\} [1-9]/);
  assert.match(text, /voyandz_requests_refused_total\{route="\/stream\/basic",reason="auth"\} [1-9]/);
  assert.match(text, /voyandz_requests_refused_total\{route="\/stream\/signed",reason="expired"\} [1-9]/);
  assert.match(text, /voyandz_stream_clients_limit\{stream="guarded"\} 3/);
});

test('password hashes never show on /config or in --check output', async () => {
  const page = await rawGet(from('127.0.0.1'), '/config', {}, 2000);
  assert.equal(page.status, 200);
  assert.doesNotMatch(page.body.toString(), /\$2[aby]\$/);
  assert.match(page.body.toString(), /"guard": "\(hidden\)"/);
  const { stdout } = await run(process.execPath, [CLI, '--check', '-f', configFile]);
  assert.doesNotMatch(stdout, /\$2[aby]\$/);
  assert.match(stdout, /users: \/.*users\.htpasswd/);
  assert.match(stdout, /guard: \(hidden\)/);
});

test('a refused stream request starts no program', async () => {
  const answers = await Promise.all([
    rawGet(from('127.0.0.2'), '/stream/guarded', { Authorization: basicAuthHeader('alice', 'wonderland') }),
    rawGet(from('127.0.0.1'), '/stream/guarded'),
    rawGet(from('127.0.0.1'), '/stream/guarded', { Authorization: basicAuthHeader('alice', 'bad') }),
  ]);
  assert.deepEqual(answers.map((a) => a.status), [403, 401, 401]);
  await sleep(500);
  assert.deepEqual(pidsWithToken('acc-guarded'), []);
});

test('failed logins are rate-limited per address (429), others are not affected', async () => {
  let limited = null;
  for (let i = 0; i < 15 && !limited; i++) {
    const answer = await rawGet(from('127.0.0.6'), '/stream/basic', { Authorization: basicAuthHeader('alice', `guess${i}`) });
    if (answer.status === 429) limited = answer;
    else assert.equal(answer.status, 401);
  }
  assert.ok(limited, 'no 429 after 15 wrong passwords');
  assert.equal(code(limited.body), 'VOYANDZ_ERR_AUTH_RATE_LIMITED');
  assert.ok(Number(limited.headers['retry-after']) >= 1);
  assert.equal((await rawGet(from('127.0.0.5'), '/stream/basic', { Authorization: basicAuthHeader('alice', 'wonderland') })).status, 200);
});

test('many viewers with one password at once are all let in (one bcrypt check, shared)', async () => {
  const auth = { Authorization: basicAuthHeader('bob', 'builder') };
  const started = Date.now();
  const answers = await Promise.all(Array.from({ length: 100 }, () => rawGet(from('127.0.0.1'), '/stream/basic', auth, 0)));
  assert.ok(answers.every((a) => a.status === 200));
  assert.ok(Date.now() - started < 10_000);
});

test('SIGHUP re-reads the htpasswd file', async () => {
  writeFileSync(users, `alice:${y('looking-glass')}\n`);
  server.process.kill('SIGHUP');
  // Each try before the reload lands is a failed login: poll from an address of its own
  // (inside the allow list, 127.0.0.0/29), so the failure limit (429) of the addresses
  // checked below is not spent on polling.
  await waitFor(async () => (await rawGet(from('127.0.0.7'), '/stream/basic', { Authorization: basicAuthHeader('alice', 'looking-glass') })).status === 200, 10_000, 200, 'the new password');
  assert.equal((await rawGet(from('127.0.0.2'), '/stream/basic', { Authorization: basicAuthHeader('alice', 'wonderland') })).status, 401);
  assert.equal((await rawGet(from('127.0.0.3'), '/stream/basic', { Authorization: basicAuthHeader('bob', 'builder') })).status, 401, 'bob was removed');
  // A broken file on reload: reported, the running rules stay.
  writeFileSync(users, 'alice:plaintext\n');
  server.process.kill('SIGHUP');
  await server.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('reload failed') && JSON.stringify(l).includes('users.htpasswd:1'));
  assert.equal((await rawGet(from('127.0.0.3'), '/stream/basic', { Authorization: basicAuthHeader('alice', 'looking-glass') })).status, 200);
});

test('IPv6: allow and deny lists for ::1', async () => {
  const v6 = await startServer(
    `
workers: 1
access: { allow: ["::1/128"] }
admin_access: { deny: ["::1"] }
streams:
  open:
    command: ${program('acc-v6')}
    mimetype: application/octet-stream
`,
    { listenaddr: '::1' },
  );
  try {
    const target = { port: v6.port, host: '::1' };
    assert.equal((await rawGet(target, '/stream/open')).status, 200);
    const stat = await rawGet(target, '/stat.json');
    assert.equal(stat.status, 403);
    assert.equal(code(stat.body), 'VOYANDZ_ERR_IP_DENIED');
  } finally {
    assert.equal(await v6.stop(), 0);
  }
});
