import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddressSet, IpRules, parseCidr } from '../src/access/ip-lists.js';
import { clientAddress } from '../src/access/trusted-proxy.js';
import { parseBasicAuth, basicAuthHeader } from '../src/access/basic-auth.js';
import { parseHtpasswd } from '../src/access/htpasswd.js';
import { checkSignature, signedUrl } from '../src/access/signed-url.js';
import { CredentialCache } from '../src/access/credential-cache.js';
import { FailureLimiter } from '../src/access/failure-limiter.js';
import { ClientLedger, type Limits } from '../src/access/limits.js';
import { StreamRates } from '../src/access/stream-rates.js';
import { parseBandwidth } from '../src/config/resolve-access.js';
import { PendingHeads } from '../src/primary/pending-heads.js';
import { LogThrottle } from '../src/primary/log-throttle.js';
import { guardAccept } from '../src/primary/accept-guard.js';
import { loadConfigText } from '../src/config/load.js';
import { ConfigError } from '../src/config/config-error.js';

test('IP lists: CIDR v4/v6, deny wins, empty allow is everyone, IPv4-mapped addresses match IPv4 ranges', () => {
  assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  assert.equal(parseCidr('::1')?.prefix, 128);
  for (const bad of ['10.0.0.0/33', '::1/129', 'example.com', '10.0.0/8', '1.2.3.4/x', '']) assert.equal(parseCidr(bad), null, bad);
  const rules = new IpRules(['10.0.0.0/8', '2001:db8::/32'], ['10.9.0.0/16']);
  assert.ok(rules.permits('10.1.2.3'));
  assert.ok(rules.permits('::ffff:10.1.2.3'));
  assert.ok(!rules.permits('10.9.1.1'));
  assert.ok(!rules.permits('::ffff:10.9.1.1'));
  assert.ok(rules.permits('2001:db8::5'));
  assert.ok(!rules.permits('192.168.1.1'));
  assert.ok(!rules.permits('not an address'));
  assert.ok(new IpRules([], []).permits('203.0.113.7'));
  assert.ok(!new IpRules([], ['0.0.0.0/0']).permits('203.0.113.7'));
});

test('trusted proxies: headers believed only from them, read from the right, garbage stops the walk', () => {
  const trusted = new AddressSet(['127.0.0.1/32', '10.0.0.0/8']);
  assert.equal(clientAddress('203.0.113.9', { 'x-forwarded-for': '1.2.3.4' }, trusted), '203.0.113.9');
  assert.equal(clientAddress('127.0.0.1', { 'x-forwarded-for': '1.2.3.4' }, trusted), '1.2.3.4');
  assert.equal(clientAddress('127.0.0.1', { 'x-forwarded-for': '6.6.6.6, 1.2.3.4, 10.0.0.2' }, trusted), '1.2.3.4', 'a spoofed left part is ignored');
  assert.equal(clientAddress('127.0.0.1', { 'x-forwarded-for': 'garbage' }, trusted), '127.0.0.1');
  assert.equal(clientAddress('::ffff:127.0.0.1', { forwarded: 'for="[2001:db8::1]:4711";proto=https' }, trusted), '2001:db8::1');
  assert.equal(clientAddress('127.0.0.1', { forwarded: 'for=192.0.2.60:8080' }, trusted), '192.0.2.60');
  assert.equal(clientAddress('127.0.0.1', {}, new AddressSet([])), '127.0.0.1');
});

test('Basic credentials: parsed, and malformed headers are no credentials', () => {
  assert.deepEqual(parseBasicAuth(basicAuthHeader('alice', 'pa:ss wörd')), { user: 'alice', password: 'pa:ss wörd' });
  for (const bad of [undefined, 'Bearer x', 'Basic', 'Basic !!!', `Basic ${Buffer.from('nocolon').toString('base64')}`, `Basic ${'A'.repeat(2000)}`]) {
    assert.equal(parseBasicAuth(bad), null, String(bad));
  }
});

test('htpasswd: bcrypt lines accepted; other hash kinds, bad lines and duplicates reported by line', () => {
  const hash = '$2y$05$abcdefghijklmnopqrstuuVGnDqMfZl2KxHwnPzHmIqXoXoOaUu1K';
  const parsed = parseHtpasswd(`# comment\n\nalice:${hash}\nbob:$apr1$xyz$abc\nnocolon\nalice:${hash}\n`);
  assert.deepEqual([...parsed.users.keys()], ['alice']);
  assert.deepEqual(parsed.problems.map((p) => p.line), [4, 5, 6]);
  assert.match(parsed.problems[0]?.message ?? '', /bob: must be a bcrypt hash/);
});

test('signed URLs: valid, tampered, other path, expired, missing, malformed', () => {
  const secret = Buffer.from('0123456789abcdef0123');
  const url = new URL(`http://x${signedUrl(secret, 'sig', '/stream/a', 2000)}`);
  const query = url.search.slice(1);
  assert.deepEqual(checkSignature(secret, 'sig', '/stream/a', query, 1000), { ok: true });
  assert.deepEqual(checkSignature(secret, 'sig', '/stream/b', query, 1000), { ok: false, why: 'bad' });
  assert.deepEqual(checkSignature(Buffer.from('another secret, 16+ bytes'), 'sig', '/stream/a', query, 1000), { ok: false, why: 'bad' });
  assert.deepEqual(checkSignature(secret, 'sig', '/stream/a', query, 3000), { ok: false, why: 'expired', expiredAt: 2000 });
  assert.deepEqual(checkSignature(secret, 'sig', '/stream/a', '', 1000), { ok: false, why: 'missing' });
  assert.deepEqual(checkSignature(secret, 'sig', '/stream/a', 'expires=abc&sig=x', 1000), { ok: false, why: 'malformed' });
  assert.deepEqual(checkSignature(secret, 'token', '/stream/a', query, 1000), { ok: false, why: 'missing' });
});

test('credential cache: bounded, expiring; failure limiter: burst, refill, bounded', () => {
  let now = 0;
  const cache = new CredentialCache(2, 1000, () => now);
  cache.add('a');
  cache.add('b');
  cache.add('c');
  assert.equal(cache.size, 2);
  assert.ok(!cache.has('a') && cache.has('b') && cache.has('c'));
  now = 1500;
  assert.ok(!cache.has('b'));

  now = 0;
  const limiter = new FailureLimiter(3, 1000, 2, () => now);
  for (let i = 0; i < 3; i++) limiter.fail('1.1.1.1');
  assert.ok(limiter.blockedFor('1.1.1.1') > 0);
  assert.equal(limiter.blockedFor('2.2.2.2'), 0);
  now = 1000;
  assert.equal(limiter.blockedFor('1.1.1.1'), 0, 'one more try after a refill');
  limiter.fail('2.2.2.2');
  limiter.fail('3.3.3.3');
  limiter.fail('4.4.4.4');
  assert.equal(limiter.blockedFor('1.1.1.1'), 0, 'forgotten beyond maxAddresses');
});

test('client ledger: server, stream, per-IP and bandwidth limits; release is idempotent and frees every count', () => {
  const ledger = new ClientLedger();
  const limits: Limits = { maxClients: 3, streamMaxClients: 2, maxBandwidth: 5e6, maxClientsPerIp: 2 };
  const rates = new StreamRates();
  const inUse = (): number => rates.inUse(ledger.streams());
  const admit = (stream: string, client: string, bits = 0) => ledger.admit({ stream, client, bitsPerSecond: bits }, limits, inUse);
  const a = admit('s', '1.1.1.1');
  const b = admit('s', '2.2.2.2');
  assert.ok(a.ok && b.ok);
  assert.deepEqual(admit('s', '3.3.3.3'), { ok: false, limit: 'max_clients', scope: 'stream', max: 2 });
  assert.ok(admit('t', '1.1.1.1').ok);
  assert.deepEqual(admit('t', '3.3.3.3'), { ok: false, limit: 'max_clients', scope: 'server', max: 3 });
  {
    ledger.release(a.id);
    ledger.release(a.id);
  }
  assert.equal(ledger.total, 2);
  assert.equal(ledger.streamCount('s'), 1);
  limits.maxClients = 10;
  assert.ok(admit('u', '2.2.2.2').ok);
  assert.deepEqual(admit('u', '2.2.2.2'), { ok: false, limit: 'per_ip', max: 2 });
  rates.update([{ workerId: 0, pid: 1, threadId: null, rss: 0, load: 0, clients: [], sources: [], streams: [{ name: 't', clients: 1, connections: 0, bytesSent: 0, bitrate: 4e6, droppedForLag: 0, skippedForLag: 0, peerResyncs: 0, closedOnRestart: { 'header-changed': 0, 'cut-mid-unit': 0, 'container-changed': 0, 'no-join-point': 0 } }] }]);
  assert.deepEqual(admit('t', '9.9.9.9', rates.of('t')), { ok: false, limit: 'max_bandwidth', max: 5e6 });
  assert.equal(parseBandwidth('900M'), 9e8);
  assert.equal(parseBandwidth('1.5k'), 1500);
  assert.equal(parseBandwidth('2G'), 2e9);
  assert.equal(parseBandwidth(12345), 12345);
});

test('pending heads: at the cap a slow waiter is evicted for a new one, a young one is not', () => {
  let now = 0;
  const evicted: string[] = [];
  const pending = new PendingHeads(() => 2, () => now);
  const a = {};
  const b = {};
  assert.ok(pending.enter(a, () => evicted.push('a')));
  assert.ok(pending.enter(b, () => evicted.push('b')));
  assert.equal(pending.enter({}, () => undefined), false, 'both are young: the new one is refused');
  now = 1500;
  assert.ok(pending.enter({}, () => evicted.push('c')));
  assert.deepEqual(evicted, ['a']);
  pending.leave(b);
  assert.equal(pending.size, 1);
});

test('log throttle: N lines per window, then a count of what was left out', () => {
  let now = 0;
  const throttle = new LogThrottle(2, 1000, () => now);
  assert.deepEqual([throttle.take('k'), throttle.take('k'), throttle.take('k'), throttle.take('k')], [0, 0, null, null]);
  now = 1000;
  assert.equal(throttle.take('k'), 2);
});

test('accept guard: EMFILE stops listening and listens again; other errors are reported, never thrown', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const events: string[] = [];
  const stop = guardAccept(server, () => server.listen(port, '127.0.0.1'), {
    paused: (code) => events.push(`paused ${code}`),
    resumed: () => events.push('resumed'),
    failed: (error) => events.push(`failed ${error.message}`),
  });
  try {
    const emfile = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' });
    server.emit('error', emfile);
    server.emit('error', emfile);
    assert.equal(server.listening, false);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    assert.equal(server.listening, true);
    server.emit('error', new Error('other'));
    assert.deepEqual(events, ['paused EMFILE', 'resumed', 'failed other']);
  } finally {
    stop();
    server.close();
  }
});

test('config: access keys are checked with line and column; files they name must exist and be valid', () => {
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-access-config-'));
  try {
    writeFileSync(join(dir, 'short.key'), 'short\n');
    writeFileSync(join(dir, 'bad.htpasswd'), 'alice:{SHA}abc\n');
    const file = join(dir, 'voyandz.yaml');
    const text = [
      'max_bandwidth: 9X',
      'access:',
      '  allow: [10.0.0.0/33]',
      '  users: bad.htpasswd',
      '  signed: { secret_file: short.key }',
      'admin_access:',
      '  users: { alice: plaintext }',
      'streams:',
      '  s:',
      '    command: cat',
      '    mimetype: x/y',
      '    max_clients: 0',
      '    access: { users: missing.htpasswd }',
    ].join('\n');
    let error: unknown;
    try {
      loadConfigText(text, file);
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof ConfigError);
    const lines = error.format().split('\n');
    const expect = [
      /voyandz\.yaml:1:16: max_bandwidth: must be bits per second/,
      /voyandz\.yaml:3:11: access\.allow\[0\]: must be an IP address or CIDR range/,
      /voyandz\.yaml:4:10: access\.users: .*bad\.htpasswd:1: user alice: must be a bcrypt hash/,
      /voyandz\.yaml:5:26: access\.signed\.secret_file: .*short\.key: the secret has 5 bytes/,
      /voyandz\.yaml:7:10: admin_access\.users: must be the path of an htpasswd file, or a mapping/,
      /voyandz\.yaml:12:18: streams\.s\.max_clients: must be an integer >= 1/,
      /voyandz\.yaml:13:22: streams\.s\.access\.users: cannot read .*missing\.htpasswd: ENOENT/,
    ];
    for (const pattern of expect) assert.ok(lines.some((line) => pattern.test(line)), `${pattern}\n${lines.join('\n')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
