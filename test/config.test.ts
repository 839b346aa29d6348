import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../src/config/config-error.js';
import { load, loadRunning, problemsOf, yaml } from './helpers/config.js';
import { loadConfigFile } from '../src/config/load.js';
import type { ServerConfig } from '../src/config/types.js';
import { VoyandzError } from '../src/errors.js';
import { PAGES, PAGE_PREFIXES } from '../src/primary/router.js';

const errorsOf = problemsOf;

async function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'voyandz-config-'));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const DEFAULTS = {
  listenaddr: '127.0.0.1',
  listenport: 8090,
  pages: { home: true, stat: true, config: false },
  workers: os.availableParallelism(),
  workerMode: 'thread' as const,
  spillLoad: 0.5,
  statClients: false,
  logMaxBytes: 10 * 1024 * 1024,
  logKeep: 3,
  maxLagSeconds: 10,
  access: {
    maxClients: null,
    maxBandwidth: null,
    maxClientsPerIp: null,
    trustedProxies: [],
    headTimeoutSeconds: 10,
    maxPendingHeads: 1000,
    server: { allow: [], deny: [], users: null, signed: null },
    admin: { allow: [], deny: [], users: null, signed: null },
    streams: {},
  },
  strict: false,
  disabled: { feeds: {}, streams: {} },
};

// ---------------------------------------------------------------- valid configs

test('an original-format config resolves to the expected config', () => {
  const config = load(
    yaml(
      "listenaddr: '127.0.0.1'",
      'listenport: 8090',
      'streams:',
      '  1_video_rec:',
      '    command: >',
      '      ffmpeg -i /dev/video0 -f mpegts -vcodec h264_nvenc -qp 23 -g 30',
      '      -bf 0 -zerolatency 1 -strict_gop 1 -sc_threshold 0 -',
      '    type: stream',
      '    mimetype: video/ts',
      '  1_pic:',
      '    command: ffmpeg -i /dev/video0 -vframes 1 -vcodec png -f image2pipe -',
      '    type: shot',
      '    mimetype: image/png',
      '  cam_view:',
      '    command: ffmpeg -i - -f mpjpeg -',
      '    mimetype: multipart/x-mixed-replace;boundary=ffmpeg',
      '    feed: cam',
      '    client: exclusive',
      '    url: /cam/view',
      '    no-resurrect: true',
      'feeds:',
      '  cam:',
      '    command: ffmpeg -f v4l2 -i /dev/video0 -f mpegts -',
      '    mode: 30',
      'pages:',
      '  config: true',
      '  stat: true',
    ),
  );
  const expected: Omit<ServerConfig, 'written'> = {
    ...DEFAULTS,
    file: path.resolve('config.yaml'),
    pages: { home: true, stat: true, config: true },
    feeds: {
      cam: {
        name: 'cam',
        command: 'ffmpeg -f v4l2 -i /dev/video0 -f mpegts -',
        argv: ['ffmpeg', '-f', 'v4l2', '-i', '/dev/video0', '-f', 'mpegts', '-'],
        mode: { lingerSeconds: 30 },
        resurrect: 'always',
        stallTimeoutSeconds: 15,
        format: 'auto',
      },
    },
    streams: {
      '1_video_rec': {
        name: '1_video_rec',
        command:
          'ffmpeg -i /dev/video0 -f mpegts -vcodec h264_nvenc -qp 23 -g 30 -bf 0 -zerolatency 1 -strict_gop 1 -sc_threshold 0 -',
        argv: [
          'ffmpeg', '-i', '/dev/video0', '-f', 'mpegts', '-vcodec', 'h264_nvenc', '-qp', '23', '-g', '30',
          '-bf', '0', '-zerolatency', '1', '-strict_gop', '1', '-sc_threshold', '0', '-',
        ],
        type: 'stream',
        mimetype: 'video/ts',
        mode: 'on-demand',
        client: 'shared',
        url: '/stream/1_video_rec',
        resurrect: 'always',
        maxLagSeconds: 10,
        shotTimeoutSeconds: 30,
        join: 'keyframe',
        lagPolicy: 'drop',
        burstSeconds: 1,
        startTimeoutSeconds: 10,
        stallTimeoutSeconds: 15,
      },
      '1_pic': {
        name: '1_pic',
        command: 'ffmpeg -i /dev/video0 -vframes 1 -vcodec png -f image2pipe -',
        argv: ['ffmpeg', '-i', '/dev/video0', '-vframes', '1', '-vcodec', 'png', '-f', 'image2pipe', '-'],
        type: 'shot',
        mimetype: 'image/png',
        mode: 'on-demand',
        client: 'shared',
        url: '/stream/1_pic',
        resurrect: 'always',
        maxLagSeconds: 10,
        shotTimeoutSeconds: 30,
        join: 'raw',
        lagPolicy: 'drop',
        burstSeconds: 1,
        startTimeoutSeconds: 10,
        stallTimeoutSeconds: 15,
      },
      cam_view: {
        name: 'cam_view',
        command: 'ffmpeg -i - -f mpjpeg -',
        argv: ['ffmpeg', '-i', '-', '-f', 'mpjpeg', '-'],
        type: 'stream',
        mimetype: 'multipart/x-mixed-replace;boundary=ffmpeg',
        mode: 'on-demand',
        feed: 'cam',
        client: 'exclusive',
        url: '/stream/cam_view',
        altUrl: '/cam/view',
        resurrect: 'never',
        maxLagSeconds: 10,
        shotTimeoutSeconds: 30,
        join: 'keyframe',
        lagPolicy: 'drop',
        burstSeconds: 1,
        startTimeoutSeconds: 10,
        stallTimeoutSeconds: 15,
      },
    },
  };
  const { written, ...resolved } = config;
  assert.deepEqual(resolved, expected);
  assert.equal((written.feeds.cam as { mode: unknown }).mode, 30, 'the file\'s own values are kept for /config');
});

test('defaults: an empty file, a comment-only file and empty sections are valid configs without streams', () => {
  for (const text of ['', '# nothing yet\n', yaml('feeds:', 'streams:', 'pages:', 'logdir:  # /var/log/voyandz')]) {
    const { config, issues } = loadRunning(text);
    assert.deepEqual(
      issues.map((issue) => `${issue.severity}: ${issue.message}`),
      ['warning: no feeds and no streams: the server serves only its pages'],
      'valid, with the one warning that it serves nothing',
    );
    const { written: _written, ...resolved } = config;
    assert.deepEqual(resolved, { ...DEFAULTS, file: path.resolve('config.yaml'), feeds: {}, streams: {} });
  }
});

test('defaults: a stream and a feed with only their required keys', () => {
  const config = load(
    yaml('feeds:', '  f:', '    command: src', 'streams:', '  s:', '    command: out', '    mimetype: video/mp2t'),
  );
  assert.deepEqual(config.feeds.f, { name: 'f', command: 'src', argv: ['src'], mode: 'on-demand', resurrect: 'always', stallTimeoutSeconds: 15, format: 'auto' });
  assert.deepEqual(config.streams.s, {
    name: 's',
    command: 'out',
    argv: ['out'],
    type: 'stream',
    mimetype: 'video/mp2t',
    mode: 'on-demand',
    client: 'shared',
    url: '/stream/s',
    resurrect: 'always',
    maxLagSeconds: 10,
    shotTimeoutSeconds: 30,
    join: 'keyframe',
    lagPolicy: 'drop',
    burstSeconds: 1,
    startTimeoutSeconds: 10,
    stallTimeoutSeconds: 15,
  });
  assert.equal(config.logdir, undefined);
});

test('join: auto follows the mimetype; an explicit setting wins; a wrong one is refused', () => {
  const config = load(
    yaml(
      'streams:',
      '  ts: {command: a, mimetype: video/mp2t}',
      '  webm: {command: a, mimetype: video/webm}',
      '  jpeg: {command: a, mimetype: "multipart/x-mixed-replace;boundary=ffmpeg"}',
      '  bin: {command: a, mimetype: application/octet-stream}',
      '  next: {command: a, mimetype: video/mp2t, join: next-keyframe}',
      '  raw: {command: a, mimetype: video/mp2t, join: raw}',
    ),
  );
  const joins = Object.fromEntries(Object.entries(config.streams).map(([name, s]) => [name, s.join]));
  assert.deepEqual(joins, { ts: 'keyframe', webm: 'keyframe', jpeg: 'keyframe', bin: 'raw', next: 'next-keyframe', raw: 'raw' });
  assert.throws(() => load(yaml('streams:', '  s: {command: a, mimetype: video/mp2t, join: sometimes}')), /join/);
});

test('new keys: workers, spill_load, lag and shot limits (with per-stream overrides), client list, log rotation', () => {
  const config = load(
    yaml(
      'workers: 4',
      'spill_load: 0.75',
      'max_lag: 5',
      'shot_timeout: 2.5',
      'stat_clients: true',
      'log_max_bytes: 1000',
      'log_keep: 0',
      'streams:',
      '  a:',
      '    command: a',
      '    mimetype: x/y',
      '  b:',
      '    command: b',
      '    mimetype: x/y',
      '    max_lag: 1',
      '    shot_timeout: 30',
      '    resurrect: false',
    ),
  );
  assert.equal(config.workers, 4);
  assert.equal(config.spillLoad, 0.75);
  assert.equal(config.statClients, true);
  assert.equal(config.logMaxBytes, 1000);
  assert.equal(config.logKeep, 0);
  assert.deepEqual([config.streams.a.maxLagSeconds, config.streams.a.shotTimeoutSeconds], [5, 2.5]);
  assert.deepEqual([config.streams.b.maxLagSeconds, config.streams.b.shotTimeoutSeconds], [1, 30]);
  assert.equal(config.streams.b.resurrect, 'never');
});

test('feed modes: named, a number of seconds, a numeric string', () => {
  const config = load(
    yaml(
      'feeds:',
      '  a: {command: a, mode: continuous}',
      '  b: {command: b, mode: autostart}',
      '  c: {command: c, mode: on-demand}',
      '  d: {command: d, mode: 0}',
      '  e: {command: e, mode: "30"}',
      '  f: {command: f, mode: 2.5}',
    ),
  );
  const modes = Object.values(config.feeds).map((feed) => feed.mode);
  assert.deepEqual(modes, [
    'continuous',
    'autostart',
    'on-demand',
    { lingerSeconds: 0 },
    { lingerSeconds: 30 },
    { lingerSeconds: 2.5 },
  ]);
});

test('YAML 1.1 like the original (PyYAML): yes/no/on/off are booleans, y and n are strings', () => {
  const config = load(
    yaml(
      'pages: {home: off, stat: no, config: yes}',
      'feeds:',
      '  n:',
      '    command: y',
      '    no-resurrect: on',
      'streams:',
      '  y:',
      '    command: n',
      '    mimetype: y',
      '    feed: n',
    ),
  );
  assert.deepEqual(config.pages, { home: false, stat: false, config: true });
  assert.deepEqual([config.feeds.n.argv, config.feeds.n.resurrect], [['y'], 'never']);
  assert.deepEqual([config.streams.y.mimetype, config.streams.y.feed], ['y', 'n']);
});

test('YAML anchors and merge keys share settings between entries; errors point into the anchor', () => {
  const config = load(
    yaml(
      'streams:',
      '  a: &mjpeg',
      '    command: ffmpeg -i - -f mpjpeg -',
      '    mimetype: multipart/x-mixed-replace;boundary=ffmpeg',
      '    client: exclusive',
      '  b:',
      '    <<: *mjpeg',
      '    url: /b',
    ),
  );
  assert.deepEqual(
    [config.streams.b.argv, config.streams.b.client, config.streams.b.altUrl],
    [['ffmpeg', '-i', '-', '-f', 'mpjpeg', '-'], 'exclusive', '/b'],
  );
  const broken = yaml('streams:', '  a: &base', '    command: a', '    type: sometimes', '  b:', '    <<: *base', '    feed: *nope');
  assert.deepEqual(errorsOf(broken), ['config.yaml:7:11: streams.b.feed: unknown alias *nope']);
  assert.deepEqual(errorsOf(broken.replace(' *nope', ' x')), [
    'config.yaml:2:3: streams.a.mimetype: required',
    'config.yaml:4:11: streams.a.type: must be one of: stream, shot',
    'config.yaml:4:11: streams.b.type: must be one of: stream, shot',
    'config.yaml:5:3: streams.b.mimetype: required',
    'config.yaml:7:11: streams.b.feed: unknown feed "x" (no feeds are defined)',
  ]);
});

test('folded YAML commands split into the right words', () => {
  const config = load(
    yaml(
      'streams:',
      '  mosaic:',
      '    command: >-',
      '      ffmpeg',
      '      -f mjpeg -i http://127.0.0.1:8090/stream/a',
      '      -filter_complex',
      '      "nullsrc=size=704x576 [base];',
      '      [base][0:v] overlay=repeatlast=1"',
      '      -f mpjpeg -',
      '    mimetype: multipart/x-mixed-replace;boundary=ffmpeg',
      '  literal:',
      '    command: |',
      '      ffmpeg -i -',
      '        -f mp3 -',
      '    mimetype: audio/mpeg',
    ),
  );
  assert.deepEqual(config.streams.mosaic.argv, [
    'ffmpeg', '-f', 'mjpeg', '-i', 'http://127.0.0.1:8090/stream/a', '-filter_complex',
    'nullsrc=size=704x576 [base]; [base][0:v] overlay=repeatlast=1', '-f', 'mpjpeg', '-',
  ]);
  assert.deepEqual(config.streams.literal.argv, ['ffmpeg', '-i', '-', '-f', 'mp3', '-']);
  assert.equal(config.streams.literal.command, 'ffmpeg -i -\n  -f mp3 -');
});

test('quoting: single and double quotes, escapes, and sh -c run as words without a shell', () => {
  const argv = (command: string): string[] =>
    load(yaml('feeds:', '  f:', `    command: ${command}`)).feeds.f.argv;
  assert.deepEqual(argv(`sh -c 'ffmpeg -i x - | tee /tmp/a'`), ['sh', '-c', 'ffmpeg -i x - | tee /tmp/a']);
  assert.deepEqual(argv(`ffmpeg -vf "drawtext=text='a b'" -`), ['ffmpeg', '-vf', "drawtext=text='a b'", '-']);
  // YAML takes its quotes off first (here '…'), then the words are split.
  assert.deepEqual(argv(`'ffmpeg -i "a b" \\"c\\" d\\ e #f'`), ['ffmpeg', '-i', 'a b', '"c"', 'd e', '#f']);
  assert.deepEqual(argv(`"ffmpeg -i 'a \\\\ b' \\"c\\\\\\\\d\\""`), ['ffmpeg', '-i', 'a \\ b', 'c\\d']);
  assert.deepEqual(argv('echo a\\ b "$HOME" *.ts'), ['echo', 'a b', '$HOME', '*.ts']);
});

test('logdir: relative to the config file, must exist', async () => {
  await withTempDir(async (dir) => {
    await mkdir(path.join(dir, 'logs'));
    const file = path.join(dir, 'voyandz.yaml');
    await writeFile(file, yaml('logdir: logs', 'listenport: 9000'));
    const { config } = await loadConfigFile(file);
    assert.equal(config.logdir, path.join(dir, 'logs'));
    assert.equal(config.file, file);
    assert.equal(config.listenport, 9000);

    await writeFile(file, yaml('listenport: 9000', 'logdir: missing'));
    await assert.rejects(loadConfigFile(file), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.code, 'VOYANDZ_ERR_CONFIG_INVALID');
      assert.deepEqual(error.issues, [
        {
          file,
          line: 2,
          column: 9,
          path: 'logdir',
          message: `directory "${path.join(dir, 'missing')}" does not exist`,
          severity: 'error',
        },
      ]);
      return true;
    });
  });
});

test('a file that cannot be read is a CONFIG_READ error', async () => {
  await assert.rejects(loadConfigFile('/nonexistent/voyandz.yaml'), (error: unknown) => {
    assert.ok(error instanceof VoyandzError);
    assert.equal(error.code, 'VOYANDZ_ERR_CONFIG_READ');
    assert.match(error.message, /^\/nonexistent\/voyandz\.yaml: cannot read config: ENOENT/);
    return true;
  });
});

// ---------------------------------------------------------------- broken configs

test('rejects a stream without a mimetype, pointing at the stream', () => {
  assert.deepEqual(errorsOf(yaml('streams:', '  cam1:', '    command: ffmpeg -i - -f mpegts -')), [
    'config.yaml:2:3: streams.cam1.mimetype: required',
  ]);
  assert.deepEqual(errorsOf(yaml('streams:', '  cam1:', '    command: x', '    mimetype:')), [
    'config.yaml:4:5: streams.cam1.mimetype: required',
  ]);
});

test('rejects an unknown feed, listing the known ones', () => {
  const text = yaml(
    'feeds:',
    '  cam1: {command: a}',
    '  cam2: {command: b}',
    'streams:',
    '  cam1:',
    '    command: x',
    '    mimetype: video/mp2t',
    '    feed: cam_1',
  );
  assert.deepEqual(errorsOf(text, 'conf/config.yaml'), [
    'conf/config.yaml:8:11: streams.cam1.feed: unknown feed "cam_1" (known: cam1, cam2)',
  ]);
  assert.deepEqual(errorsOf(yaml('feeds:', '  a:', '    command: a', '    feed: b')), [
    'config.yaml:4:11: feeds.a.feed: unknown feed "b" (known: a)',
  ]);
});

test('rejects feed cycles, showing the cycle once', () => {
  const text = yaml(
    'feeds:',
    '  a: {command: a, feed: b}',
    '  b: {command: b, feed: c}',
    '  c: {command: c, feed: a}',
    '  d: {command: d, feed: a}',
    '  self: {command: s, feed: self}',
  );
  assert.deepEqual(errorsOf(text), [
    'config.yaml:2:25: feeds.a.feed: feed cycle: a -> b -> c -> a',
    'config.yaml:3:25: feeds.b.feed: reads feed "c", which is disabled by its errors',
    'config.yaml:4:25: feeds.c.feed: reads feed "a", which is disabled by its errors',
    'config.yaml:5:25: feeds.d.feed: reads feed "a", which is disabled by its errors',
    'config.yaml:6:28: feeds.self.feed: feed cycle: self -> self',
  ]);
});

test('rejects a port out of range or not a number', () => {
  assert.deepEqual(errorsOf(yaml('listenport: 70000')), [
    'config.yaml:1:13: listenport: must be an integer from 1 to 65535',
  ]);
  assert.deepEqual(errorsOf(yaml('listenport: "abc"')), [
    'config.yaml:1:13: listenport: must be an integer from 1 to 65535',
  ]);
  assert.deepEqual(errorsOf(yaml('listenport: 80.5')), [
    'config.yaml:1:13: listenport: must be an integer from 1 to 65535',
  ]);
});

test('rejects an unknown mode and a negative linger time', () => {
  const text = yaml('feeds:', '  a:', '    command: a', '    mode: sometimes', '  b:', '    command: b', '    mode: -5');
  assert.deepEqual(errorsOf(text), [
    'config.yaml:4:11: feeds.a.mode: must be on-demand, continuous, autostart or a number of seconds >= 0',
    'config.yaml:7:11: feeds.b.mode: must be on-demand, continuous, autostart or a number of seconds >= 0',
  ]);
});

test('rejects a bad type and a bad client', () => {
  const text = yaml('streams:', '  s:', '    command: a', '    mimetype: x/y', '    type: video', '    client: all');
  assert.deepEqual(errorsOf(text), [
    'config.yaml:5:11: streams.s.type: must be one of: stream, shot',
    'config.yaml:6:13: streams.s.client: must be one of: shared, exclusive',
  ]);
});

test('rejects duplicate keys, pointing at the repetition', () => {
  const text = yaml(
    'listenport: 8090',
    'streams:',
    '  cam:',
    '    command: a',
    '    mimetype: x/y',
    '  cam:',
    '    command: b',
    '    mimetype: x/y',
    'listenport: 8091',
  );
  assert.deepEqual(errorsOf(text), [
    'config.yaml:6:3: streams.cam: duplicate key (first defined at line 3)',
    'config.yaml:9:1: listenport: duplicate key (first defined at line 1)',
  ]);
});

test('url collisions name both sides: another url, another stream\'s /stream/NAME, a page; a url that is no path', () => {
  const text = yaml(
    'streams:',
    '  a: {command: a, mimetype: x/y, url: /live}',
    '  b: {command: b, mimetype: x/y, url: /live}',
    '  c: {command: c, mimetype: x/y, url: /stream/d}',
    '  d: {command: d, mimetype: x/y}',
    '  e: {command: e, mimetype: x/y, url: /metrics}',
    '  f: {command: f, mimetype: x/y, url: live}',
    '  g: {command: g, mimetype: x/y, url: /watch/a}',
    '  h: {command: h, mimetype: x/y, url: /healthz}',
    '  i: {command: i, mimetype: x/y, url: "/my cam"}',
    '  j: {command: j, mimetype: x/y, url: /stream/j}',
  );
  assert.deepEqual(errorsOf(text), [
    'config.yaml:3:39: streams.b.url: "/live" is already the url of stream a',
    'config.yaml:4:39: streams.c.url: "/stream/d" is the path of stream d (every stream answers at /stream/NAME)',
    'config.yaml:6:39: streams.e.url: "/metrics" is reserved for the Prometheus metrics',
    'config.yaml:7:39: streams.f.url: "/live" is already the url of stream a',
    'config.yaml:8:39: streams.g.url: "/watch/a" is reserved for the player pages (/watch/NAME)',
    'config.yaml:9:39: streams.h.url: "/healthz" is reserved for the liveness check',
    'config.yaml:10:39: streams.i.url: must be a path, e.g. /live/cam (no spaces, "?" or "#")',
  ]);
  const { config } = loadRunning(text);
  assert.deepEqual(Object.keys(config.streams), ['a', 'd', 'j'], 'the others are disabled, the rest runs');
  assert.equal(config.streams.j.altUrl, undefined, 'a url that is the stream\'s own path adds nothing');
  assert.deepEqual(config.disabled.streams.c.urls, ['/stream/c'], 'a disabled stream keeps only its own path: /stream/d stays d\'s');
  assert.deepEqual(config.disabled.streams.e.urls, ['/stream/e'], 'the page stays the page');
  assert.deepEqual(config.disabled.streams.b.urls, ['/stream/b']);
});

test('a disabled stream answers 503 at its url too, unless that url is what disabled it', () => {
  const { config } = loadRunning(yaml('streams:', '  s: {command: a, mimetype: x/y, feed: nope, url: /live/s}'));
  assert.deepEqual(config.disabled.streams.s.urls, ['/stream/s', '/live/s']);
});

test('every page path and prefix the router serves is refused as a url', () => {
  const urls = [...PAGES, ...PAGE_PREFIXES.map((prefix) => `${prefix}x`)];
  const text = yaml('streams:', ...urls.map((url, i) => `  s${i}: {command: a, mimetype: x/y, url: "${url}"}`));
  const errors = errorsOf(text);
  assert.equal(errors.length, urls.length, errors.join('\n'));
  for (const [i, url] of urls.entries()) assert.match(errors[i] ?? '', new RegExp(`streams\\.s${i}\\.url: "${url}" is reserved for `), url);
});

test('rejects a logdir that is missing or not a directory', async () => {
  await withTempDir(async (dir) => {
    const file = path.join(dir, 'plain.txt');
    await writeFile(file, 'not a directory');
    assert.deepEqual(errorsOf(yaml(`logdir: ${file}`)), [`config.yaml:1:9: logdir: "${file}" is not a directory`]);
  });
  assert.deepEqual(errorsOf(yaml('logdir: /nonexistent/voyandz')), [
    'config.yaml:1:9: logdir: directory "/nonexistent/voyandz" does not exist',
  ]);
});

test('rejects commands that cannot be split: unbalanced quotes, a lone backslash, nothing at all', () => {
  const text = yaml(
    'feeds:',
    `  a: {command: "ffmpeg -vf 'scale=1:2 -"}`,
    '  b:',
    '    command: ffmpeg -i x \\',
    '  c:',
    '    command: "  "',
    'streams:',
    '  s:',
    '    command: >',
    '      ffmpeg -i - -metadata',
    '      title="my stream -',
    '    mimetype: x/y',
  );
  assert.deepEqual(errorsOf(text), [
    'config.yaml:2:16: feeds.a.command: has an unbalanced quote',
    'config.yaml:4:14: feeds.b.command: ends with a lone backslash',
    'config.yaml:6:14: feeds.c.command: must not be empty',
    'config.yaml:9:14: streams.s.command: has an unbalanced quote',
  ]);
});

test('rejects YAML syntax errors with the position yaml reports', () => {
  assert.deepEqual(errorsOf(yaml('streams:', '  a:', '    command: x', '   mimetype: y')), [
    'config.yaml:4:1: invalid YAML: All mapping items must start at the same column',
  ]);
  assert.deepEqual(errorsOf(yaml('feeds:', '  a: {command: x')), [
    'config.yaml:3:1: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }',
  ]);
});

test('rejects a top level that is not a mapping', () => {
  const message = 'must be a mapping of settings (listenport:, feeds:, streams:, ...)';
  assert.deepEqual(errorsOf(yaml('- listenport: 8090')), [`config.yaml:1:1: ${message}`]);
  assert.deepEqual(errorsOf(yaml('# a comment', 'just a string')), [`config.yaml:2:1: ${message}`]);
});

test('unknown keys are warnings, with a hint when one is close; the config runs without them', () => {
  const text = yaml(
    'listen_port: 8090',
    'pages:',
    '  stats: true',
    'streams:',
    '  s:',
    '    command: a',
    '    mime_type: x/y',
    '    Feed: f',
    'frobnicate: 1',
  );
  assert.deepEqual(errorsOf(text), [
    'config.yaml:1:1: warning: listen_port: unknown key (did you mean "listenport"?)',
    'config.yaml:3:3: warning: pages.stats: unknown key (did you mean "stat"?)',
    'config.yaml:5:3: streams.s.mimetype: required',
    'config.yaml:7:5: warning: streams.s.mime_type: unknown key (did you mean "mimetype"?)',
    'config.yaml:8:5: warning: streams.s.Feed: unknown key (did you mean "feed"?)',
    'config.yaml:9:1: warning: frobnicate: unknown key (known: listenaddr, listenport, logdir, pages, templates, generate, feeds, streams, ' +
      'workers, worker_mode, spill_load, max_lag, start_timeout, stall_timeout, shot_timeout, stat_clients, log_max_bytes, log_keep, max_clients, max_bandwidth, max_clients_per_ip, trusted_proxies, access, admin_access, head_timeout, max_pending_heads, pull_headers, strict)',
  ]);
  const { config } = loadRunning(text);
  assert.equal(config.listenport, 8090, 'listen_port is not read as listenport');
  assert.deepEqual(Object.keys(config.disabled.streams), ['s']);
});

test('rejects names that cannot be a URL path segment, and still checks their bodies', () => {
  const text = yaml('streams:', '  my/cam:', '    command: a', '  ..:', '    command: b', '    mimetype: x/y');
  const nameMessage = 'invalid name: it becomes a URL path segment, so no "/", no control characters and not only dots';
  assert.deepEqual(errorsOf(text), [
    `config.yaml:2:3: streams.my/cam: ${nameMessage}`,
    'config.yaml:2:3: streams.my/cam.mimetype: required',
    `config.yaml:4:3: streams...: ${nameMessage}`,
  ]);
});

test('rejects wrong types and out-of-range new keys', () => {
  const text = yaml(
    'workers: 0',
    'max_lag: 0',
    'shot_timeout: -1',
    'stat_clients: maybe',
    'log_keep: 1.5',
    'pages: true',
    'feeds:',
    '  f: ffmpeg -i x -',
    '  g:',
    '    command: [ffmpeg, -i, x]',
    '    resurrect: true',
    '    no-resurrect: true',
    'spill_load: 1.5',
  );
  assert.deepEqual(errorsOf(text), [
    'config.yaml:1:10: workers: must be "auto" or an integer >= 1',
    'config.yaml:2:10: max_lag: must be a number of seconds > 0',
    'config.yaml:3:15: shot_timeout: must be a number of seconds > 0',
    'config.yaml:4:15: stat_clients: must be true or false',
    'config.yaml:5:11: log_keep: must be an integer >= 0',
    'config.yaml:6:8: pages: must be a mapping of page: true/false',
    'config.yaml:8:6: feeds.f: must be a mapping with at least a command or a pull',
    'config.yaml:10:14: feeds.g.command: must be a string (the program and its arguments, split like a shell does)',
    'config.yaml:12:19: feeds.g.no-resurrect: contradicts "resurrect: true"; keep one of the two',
    'config.yaml:13:13: spill_load: must be a number from 0 to 1',
  ]);
});

test('reports every problem of a config at once, in file order', () => {
  const text = yaml(
    'listenport: 0',
    'feeds:',
    '  cam:',
    '    command: ffmpeg -i /dev/video0 -f mpegts -',
    '    mode: sometimes',
    'streams:',
    '  cam1:',
    '    command: ffmpeg -i "cam1 -',
    '    feed: cam_1',
    '    url: /stat',
    '  cam2:',
    '    command: ffmpeg -i - -f mjpeg -',
    '    mimetype: image/jpeg',
    '    feed: cam',
    '    clients: shared',
    'logdir: /nonexistent/logs',
  );
  try {
    load(text);
    assert.fail('the config was accepted');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, 'VOYANDZ_ERR_CONFIG_INVALID');
    const lines = [
      'config.yaml:1:13: listenport: must be an integer from 1 to 65535',
      'config.yaml:5:11: feeds.cam.mode: must be on-demand, continuous, autostart or a number of seconds >= 0',
      'config.yaml:7:3: streams.cam1.mimetype: required',
      'config.yaml:8:14: streams.cam1.command: has an unbalanced quote',
      'config.yaml:9:11: streams.cam1.feed: unknown feed "cam_1" (known: cam)',
      'config.yaml:10:10: streams.cam1.url: "/stat" is reserved for the status page',
      'config.yaml:14:11: streams.cam2.feed: reads feed "cam", which is disabled by its errors',
      'config.yaml:15:5: warning: streams.cam2.clients: unknown key (did you mean "client"?)',
      'config.yaml:16:9: logdir: directory "/nonexistent/logs" does not exist',
    ];
    assert.equal(error.format(), lines.join('\n'));
    assert.equal(error.message, `config.yaml: ${lines.length - 1} error(s) and 1 warning(s) in config\n${lines.join('\n')}`);
    assert.deepEqual(error.issues[4], {
      file: 'config.yaml',
      line: 9,
      column: 11,
      path: 'streams.cam1.feed',
      message: 'unknown feed "cam_1" (known: cam)',
      severity: 'error',
    });
  }
});

// ---------------------------------------------------------------- multi-feed streams

test('feeds: as a list or a mapping gives each feed a pipe from fd 3 on, named by ${feeds.NAME}', () => {
  const config = load(
    yaml(
      'feeds:',
      '  cam: { command: cat }',
      '  mic: { command: cat }',
      'streams:',
      '  av:',
      '    feeds: [cam, mic]',
      '    command: ffmpeg -i ${feeds.cam} -i ${feeds.mic} -c copy -f mpegts -',
      '    mimetype: video/mp2t',
      '  av2:',
      '    feeds: { v: cam, a: mic }',
      '    command: ffmpeg -i ${feeds.a} -i ${feeds.v} -f mpegts -',
      '    mimetype: video/mp2t',
    ),
  );
  assert.deepEqual(config.streams.av.argv, ['ffmpeg', '-i', 'pipe:3', '-i', 'pipe:4', '-c', 'copy', '-f', 'mpegts', '-']);
  assert.deepEqual(config.streams.av.inputs, [{ alias: 'cam', feed: 'cam' }, { alias: 'mic', feed: 'mic' }]);
  assert.equal(config.streams.av.command, 'ffmpeg -i ${feeds.cam} -i ${feeds.mic} -c copy -f mpegts -');
  assert.deepEqual(config.streams.av2.argv, ['ffmpeg', '-i', 'pipe:4', '-i', 'pipe:3', '-f', 'mpegts', '-']);
  assert.equal(config.streams.av2.feed, undefined);
});

test('feeds: mistakes: unknown or repeated feed, feed: too, a placeholder naming no input, an input never read', () => {
  assert.deepEqual(
    errorsOf(
      yaml(
        'feeds:',
        '  cam: { command: cat }',
        '  mic: { command: cat }',
        'streams:',
        '  a:',
        '    feeds: [cam, cam_2, cam]',
        '    command: ffmpeg -i ${feeds.cam} -i ${feeds.cam_2} -f mpegts -',
        '    mimetype: video/mp2t',
        '  b:',
        '    feed: cam',
        '    feeds: { v: cam, a: mic }',
        '    command: ffmpeg -i ${feeds.v} -i ${feeds.audio} -f mpegts -',
        '    mimetype: video/mp2t',
        '  c:',
        '    feeds: []',
        '    command: cat',
        '    mimetype: x/y',
      ),
    ),
    [
      'config.yaml:6:18: streams.a.feeds[1]: unknown feed "cam_2" (known: cam, mic)',
      'config.yaml:6:25: streams.a.feeds[2]: feed "cam" is listed twice',
      'config.yaml:10:11: streams.b.feed: feed: and feeds: together: a program reads either one feed on stdin or several on pipes',
      'config.yaml:12:14: streams.b.command: unknown placeholder ${feeds.audio} (feeds: v, a)',
      'config.yaml:12:14: streams.b.command: feed a is not read by the command: add ${feeds.a} (e.g. -i ${feeds.a})',
      'config.yaml:15:12: streams.c.feeds: must name at least one feed',
    ],
  );
});

test('burst: seconds of audio a joiner starts in the past, 1 by default, 0 off, never more than the stream\'s max_lag', () => {
  const config = load(
    yaml(
      'max_lag: 5',
      'streams:',
      '  plain: { command: a, mimetype: audio/mpeg }',
      '  none: { command: a, mimetype: audio/mpeg, burst: 0 }',
      '  long: { command: a, mimetype: audio/mpeg, burst: 8 }',
      '  tight: { command: a, mimetype: audio/mpeg, burst: 8, max_lag: 2 }',
    ),
  );
  assert.deepEqual(
    ['plain', 'none', 'long', 'tight'].map((name) => config.streams[name].burstSeconds),
    [1, 0, 5, 2],
  );
});
