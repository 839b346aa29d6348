import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIssue } from '../src/config/config-error.js';
import { isRejected, load, loadRunning, problemsOf, yaml } from './helpers/config.js';

// ---------------------------------------------------------------- habits of original configs

test('original habits load: quoted numbers, empty logdir, capitalised values, a url without "/"', () => {
  const config = load(
    yaml(
      'listenport: "8091"',
      "logdir: ''",
      'max_lag: "4"',
      'workers: Auto',
      'feeds:',
      '  cam: {command: a, mode: Continuous}',
      '  mic: {command: b, mode: " 30 "}',
      'streams:',
      '  ts: {command: c, mimetype: video/ts, client: Exclusive, type: Stream, url: plain/ts, max_lag: "2.5"}',
      '  png: {command: d, mimetype: image/png, type: Shot, shot_timeout: "12"}',
    ),
  );
  assert.equal(config.listenport, 8091);
  assert.equal(config.logdir, undefined);
  assert.equal(config.streams.ts.maxLagSeconds, 2.5);
  assert.deepEqual([config.feeds.cam.mode, config.feeds.mic.mode], ['continuous', { lingerSeconds: 30 }]);
  assert.deepEqual([config.streams.ts.client, config.streams.ts.type, config.streams.png.type], ['exclusive', 'stream', 'shot']);
  assert.deepEqual([config.streams.ts.url, config.streams.ts.altUrl], ['/stream/ts', '/plain/ts']);
  assert.equal(config.streams.png.shotTimeoutSeconds, 12);
  assert.equal((config.written.settings as { listenport: unknown }).listenport, '8091', '/config shows the value as written');
});

test('names with spaces and non-ASCII letters are names like any other', () => {
  const config = load(
    yaml('feeds:', '  kamera ż: {command: a}', 'streams:', '  cam 1: {command: b, mimetype: video/mp2t, feed: kamera ż}'),
  );
  assert.equal(config.streams['cam 1'].url, '/stream/cam 1');
  assert.equal(config.streams['cam 1'].feed, 'kamera ż');
});

test('x- top-level keys hold anchors silently; merge keys fill entries from them', () => {
  const config = load(
    yaml(
      'x-defaults: &cam',
      '  command: ffmpeg -i - -f mpjpeg -',
      '  mimetype: multipart/x-mixed-replace;boundary=ffserver',
      '  client: shared',
      'x-note: anything at all',
      'streams:',
      '  a:',
      '    <<: *cam',
      '  b:',
      '    <<: *cam',
      '    client: exclusive',
    ),
  );
  assert.deepEqual([config.streams.a.client, config.streams.b.client], ['shared', 'exclusive']);
  assert.deepEqual(config.streams.b.argv, ['ffmpeg', '-i', '-', '-f', 'mpjpeg', '-']);
});

test('keys voyandz does not know are warnings at their line, and are ignored', () => {
  const text = yaml(
    'description: cameras of the back office',
    'pages:',
    '  metrics: true',
    'feeds:',
    '  cam:',
    '    command: a',
    '    note: the one over the door',
    'streams:',
    '  s:',
    '    command: b',
    '    mimetype: video/mp2t',
    '    mode: continuous',
  );
  const { config, issues } = loadRunning(text);
  assert.deepEqual(issues.map(formatIssue), [
    'config.yaml:1:1: warning: description: unknown key (known: listenaddr, listenport, logdir, pages, templates, generate, feeds, streams, ' +
      'workers, worker_mode, spill_load, max_lag, start_timeout, stall_timeout, shot_timeout, stat_clients, log_max_bytes, log_keep, max_clients, max_bandwidth, max_clients_per_ip, trusted_proxies, access, admin_access, head_timeout, max_pending_heads, pull_headers, strict)',
    'config.yaml:3:3: warning: pages.metrics: unknown key (known: home, stat, config)',
    'config.yaml:7:5: warning: feeds.cam.note: unknown key (known: command, pull, pull_headers, mode, feed, resurrect, no-resurrect, stall_timeout, format, template, args)',
    // The original ignored a stream's mode; voyandz too, saying so (it keeps only a pull running).
    'config.yaml:12:11: warning: streams.s.mode: applies to pulled streams only (pull: URL); ignored',
  ]);
  assert.deepEqual(Object.keys(config.streams), ['s']);
  assert.equal((config.written.feeds.cam as { note: unknown }).note, 'the one over the door', 'user keys are kept for /config');
});

// ---------------------------------------------------------------- one broken entry

test('a broken entry disables itself and what reads it; the rest runs', () => {
  const text = yaml(
    'feeds:',
    '  good: {command: a}',
    '  bad: {command: b, mode: sometimes}',
    '  child: {command: c, feed: bad}',
    'streams:',
    '  ok: {command: d, mimetype: video/mp2t, feed: good}',
    '  typo: {command: e, mimetype: video/mp2t, feed: godo}',
    '  orphan: {command: f, mimetype: video/mp2t, feed: child, url: /orphan}',
    '  mux: {command: "g ${feeds.good} ${feeds.bad}", mimetype: video/mp2t, feeds: [good, bad]}',
  );
  const { config, issues } = loadRunning(text);
  assert.deepEqual(Object.keys(config.feeds), ['good']);
  assert.deepEqual(Object.keys(config.streams), ['ok']);
  assert.deepEqual(issues.map(formatIssue), [
    'config.yaml:3:27: feeds.bad.mode: must be on-demand, continuous, autostart or a number of seconds >= 0',
    'config.yaml:4:29: feeds.child.feed: reads feed "bad", which is disabled by its errors',
    'config.yaml:7:50: streams.typo.feed: unknown feed "godo" (known: good, bad, child)',
    'config.yaml:8:52: streams.orphan.feed: reads feed "child", which is disabled by its errors',
    'config.yaml:9:86: streams.mux.feeds[1]: reads feed "bad", which is disabled by its errors',
  ]);
  assert.deepEqual(config.disabled.streams.orphan, {
    name: 'orphan',
    urls: ['/stream/orphan', '/orphan'],
    errors: ['config.yaml:8:52: streams.orphan.feed: reads feed "child", which is disabled by its errors'],
  });
  assert.deepEqual(Object.keys(config.disabled.feeds), ['bad', 'child']);
});

test('an error about the config as a whole still rejects it, with every other problem listed', () => {
  const text = yaml('listenport: 0', 'bogus: 1', 'streams:', '  s: {command: a}');
  assert.ok(isRejected(text));
  assert.deepEqual(problemsOf(text), [
    'config.yaml:1:13: listenport: must be an integer from 1 to 65535',
    'config.yaml:2:1: warning: bogus: unknown key (known: listenaddr, listenport, logdir, pages, templates, generate, feeds, streams, ' +
      'workers, worker_mode, spill_load, max_lag, start_timeout, stall_timeout, shot_timeout, stat_clients, log_max_bytes, log_keep, max_clients, max_bandwidth, max_clients_per_ip, trusted_proxies, access, admin_access, head_timeout, max_pending_heads, pull_headers, strict)',
    'config.yaml:4:3: streams.s.mimetype: required',
  ]);
});

test('strict: true (or the strict option) refuses any problem, a warning included', () => {
  const warned = yaml('streams:', '  s: {command: a, mimetype: x/y, note: hello}');
  assert.equal(isRejected(warned), false);
  assert.ok(isRejected(warned, 'config.yaml', { strict: true }));
  assert.ok(isRejected(`strict: true\n${warned}`));
  assert.ok(isRejected(yaml('strict: true', 'streams:', '  s: {command: a}')), 'an entry error too');
  assert.equal(load(yaml('strict: true', 'streams:', '  s: {command: a, mimetype: x/y}')).strict, true);
});

// ---------------------------------------------------------------- resurrect

test('resurrect: always, on-failure, never, booleans and the original no-resurrect', () => {
  const config = load(
    yaml(
      'feeds:',
      '  a: {command: a}',
      '  b: {command: b, resurrect: On-Failure}',
      '  c: {command: c, resurrect: false}',
      '  d: {command: d, no-resurrect: true}',
      '  e: {command: e, resurrect: true, no-resurrect: false}',
      '  f: {command: f, resurrect: never, no-resurrect: true}',
    ),
  );
  assert.deepEqual(
    Object.values(config.feeds).map((feed) => feed.resurrect),
    ['always', 'on-failure', 'never', 'never', 'always', 'never'],
  );
  assert.deepEqual(
    problemsOf(yaml('feeds:', '  a: {command: a, resurrect: sometimes}', '  b: {command: b, resurrect: on-failure, no-resurrect: true}')),
    [
      'config.yaml:2:30: feeds.a.resurrect: must be always, on-failure, never, true (always) or false (never)',
      'config.yaml:3:56: feeds.b.no-resurrect: contradicts "resurrect: on-failure"; keep one of the two',
    ],
  );
});
