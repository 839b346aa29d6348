import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { configView } from '../src/config/config-view.js';
import { renderConfig } from '../src/config/render.js';
import { findComponents } from '../src/cluster/assignment.js';
import { load, loadRunning, problemsOf, yaml } from './helpers/config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const RELAY = yaml(
  'pull_headers: { Authorization: "Basic ZWRnZTpzZWNyZXQ=", User-Agent: voyandz-edge }',
  'feeds:',
  '  cam1_remote:',
  '    pull: http://origin.example:8090/stream/cam1',
  '    mode: 30',
  'streams:',
  '  cam1:',
  '    pull: https://origin.example/stream/cam1?quality=hd',
  '    pull_headers: { authorization: "Basic b3RoZXI6b25l", X-Trace: "1" }',
  '    mode: 5',
  '  cam1_small:',
  '    feed: cam1_remote',
  '    command: ffmpeg -i - -vf scale=320:-2 -c:v libx264 -f mpegts -',
  '    mimetype: video/mp2t',
  '  cam1_typed:',
  '    pull: http://origin.example:8090/stream/cam1',
  '    mimetype: video/mp2t',
);

test('pull: feeds and streams resolve to a URL and headers (the entry\'s over the top level, names lower-case); no program', () => {
  const config = load(RELAY);
  const feed = config.feeds.cam1_remote;
  assert.deepEqual(feed.pull, {
    url: 'http://origin.example:8090/stream/cam1',
    headers: { authorization: 'Basic ZWRnZTpzZWNyZXQ=', 'user-agent': 'voyandz-edge' },
  });
  assert.deepEqual([feed.command, feed.argv, feed.mode, feed.format], ['', [], { lingerSeconds: 30 }, 'auto']);
  const stream = config.streams.cam1;
  assert.deepEqual(stream.pull, {
    url: 'https://origin.example/stream/cam1?quality=hd',
    headers: { authorization: 'Basic b3RoZXI6b25l', 'user-agent': 'voyandz-edge', 'x-trace': '1' },
  });
  // No mimetype: the origin's Content-Type is served; joiners start at keyframes of whatever container it names.
  assert.deepEqual([stream.mimetype, stream.join, stream.mode, stream.client, stream.argv], ['', 'keyframe', { lingerSeconds: 5 }, 'shared', []]);
  assert.deepEqual([config.streams.cam1_typed.mimetype, config.streams.cam1_typed.join], ['video/mp2t', 'keyframe']);
  assert.equal(config.streams.cam1_small.pull, undefined);
  // A pulled feed and the program reading it are one component (one worker); a pulled stream is one of its own.
  const components = findComponents(config).map((c) => [...c.feeds, ...c.streams].sort().join('+'));
  assert.deepEqual(components.sort(), ['cam1', 'cam1_remote+cam1_small', 'cam1_typed']);
});

test('a relay\'s credentials never show: --check prints (hidden), /config too, as written and as resolved', () => {
  const config = load(RELAY);
  const rendered = renderConfig(config);
  assert.ok(!rendered.includes('ZWRnZTpzZWNyZXQ=') && !rendered.includes('b3RoZXI6b25l'), rendered);
  const again = parse(rendered) as { feeds: Record<string, Record<string, unknown>>; streams: Record<string, Record<string, unknown>> };
  assert.deepEqual(Object.keys(load(rendered).streams), Object.keys(config.streams), 'the output is itself a config');
  assert.deepEqual(again.feeds.cam1_remote, {
    pull: 'http://origin.example:8090/stream/cam1',
    pull_headers: { authorization: '(hidden)', 'user-agent': 'voyandz-edge' },
    mode: 30,
    resurrect: 'always',
    stall_timeout: 15,
    format: 'auto',
  });
  assert.equal(again.streams.cam1.mimetype, undefined, 'no mimetype: still the origin\'s');
  assert.equal(again.streams.cam1.mode, 5);
  assert.equal(again.streams.cam1.command, undefined);
  const view = JSON.stringify(configView(config));
  assert.ok(!view.includes('ZWRnZTpzZWNyZXQ=') && !view.includes('b3RoZXI6b25l'), view);
  assert.match(view, /"pull_headers":\{"Authorization":"\(hidden\)","User-Agent":"voyandz-edge"\}/);
  assert.match(view, /"pull":"http:\/\/origin\.example:8090\/stream\/cam1"/);
});

test('--check refuses what cannot be pulled, and what a pulled entry cannot be, each at its key', () => {
  const text = yaml(
    'feeds:',
    '  nothing: { mode: 5 }',
    '  both: { command: cat, pull: "http://o/x" }',
    '  ftp: { pull: "ftp://o/x" }',
    '  words: { pull: "not a url" }',
    '  secret: { pull: "http://user:pw@o/x" }',
    '  fragment: { pull: "http://o/x#y" }',
    '  chained: { pull: "http://o/x", feed: ftp }',
    '  headers: { command: cat, pull_headers: { A: b } }',
    'streams:',
    '  shot: { pull: "http://o/x", type: shot }',
    '  exclusive: { pull: "http://o/x", client: exclusive }',
    '  reads: { pull: "http://o/x", feed: nothing }',
    '  badname: { pull: "http://o/x", pull_headers: { "Bad Name": x } }',
    '  badvalue: { pull: "http://o/x", pull_headers: { X-A: "a\\r\\nInjected: yes" } }',
    '  program: { command: cat }',
  );
  assert.deepEqual(problemsOf(text), [
    'config.yaml:2:3: feeds.nothing.command: required (or pull: URL, for a relay)',
    'config.yaml:3:31: feeds.both.pull: command and pull together: an entry runs a program or pulls a URL, not both',
    'config.yaml:4:16: feeds.ftp.pull: must be an http:// or https:// URL, e.g. http://origin.example:8090/stream/cam1 (not ftp:)',
    'config.yaml:5:18: feeds.words.pull: must be an http:// or https:// URL, e.g. http://origin.example:8090/stream/cam1',
    'config.yaml:6:19: feeds.secret.pull: must not hold a user name or password: put them in pull_headers (Authorization: Basic ...)',
    'config.yaml:7:21: feeds.fragment.pull: must not have a #fragment (it is never sent to the origin)',
    'config.yaml:8:40: feeds.chained.feed: a pulled feed reads no other feed: its bytes come from the URL',
    'config.yaml:9:42: feeds.headers.pull_headers: only means something with pull: URL',
    'config.yaml:11:37: streams.shot.type: a pulled stream is relayed as it comes: it cannot be a shot',
    'config.yaml:12:44: streams.exclusive.client: a pulled stream is one pull fanned out to every client: client must be shared',
    'config.yaml:13:38: streams.reads.feed: a pulled stream runs no program to read a feed (to transcode a pulled feed, pull it as a feed and give this stream a command)',
    'config.yaml:14:50: streams.badname.pull_headers.Bad Name: must be an HTTP header name (letters, digits, "-", no spaces or colons)',
    'config.yaml:15:56: streams.badvalue.pull_headers.X-A: must be one line of text (no line breaks or control characters)',
    'config.yaml:16:3: streams.program.mimetype: required',
  ]);
  // Only the broken entries are left out.
  assert.deepEqual(Object.keys(loadRunning(text).config.feeds), []);
});

test('editors validating with the JSON Schema want a command (and a stream a mimetype), a pull or a template, never both', async () => {
  const { Ajv } = await import('ajv');
  const validate = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(readFileSync(join(ROOT, 'config', 'voyandz.schema.json'), 'utf8')));
  const accepted = parse(RELAY) as unknown;
  assert.ok(validate(accepted), JSON.stringify(validate.errors));
  const refused: [string, unknown][] = [
    ['a feed with neither command nor pull', { feeds: { f: { mode: 5 } } }],
    ['a feed with both', { feeds: { f: { command: 'cat', pull: 'http://o/x' } } }],
    ['a stream with both', { streams: { s: { command: 'cat', mimetype: 'x/y', pull: 'http://o/x' } } }],
    ['a pull header holding a line break', { pull_headers: { A: 'b\r\nc: d' } }],
  ];
  for (const [what, doc] of refused) assert.equal(validate(doc), false, `the schema accepts ${what}`);
});
