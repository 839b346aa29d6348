/**
 * Broken configs, as an operator writes them by mistake: `voyandz --check`
 * must refuse each (exit 1) and point at it (file:line:col and the key
 * path), never print a stack trace, never say OK. Then seeded random damage
 * to a good config: the loader either accepts the result or rejects it with
 * positioned issues, and never throws anything else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfigText } from '../src/config/load.js';
import { ConfigError } from '../src/config/config-error.js';
import { CLI } from './helpers/server.js';

const run = promisify(execFile);

const FEED = `feeds:
  cam:
    command: ffmpeg -f lavfi -i testsrc -f mpegts -
`;
const STREAM = `streams:
  ts:
    feed: cam
    command: ffmpeg -i - -c copy -f mpegts -
    mimetype: video/mp2t
`;
const GOOD = `listenport: 8090\n${FEED}${STREAM}`;

/** A good config with `top` added at the top level. */
const withTop = (top: string): string => `${top}\n${FEED}${STREAM}`;
/** A good config with `lines` added to feed cam (indented 4). */
const inFeed = (lines: string): string => `${FEED}${indent(lines)}${STREAM}`;
/** A good config with `lines` added to stream ts. */
const inStream = (lines: string): string => `${FEED}${STREAM}${indent(lines)}`;
const indent = (lines: string): string => `${lines.split('\n').map((line) => `    ${line}`).join('\n')}\n`;

interface Broken {
  what: string;
  text: string | Buffer;
  /** The key path the message names; '' for problems of the text itself (syntax, encoding). */
  path: string;
}

const BROKEN: Broken[] = [
  { what: 'port 0', text: withTop('listenport: 0'), path: 'listenport' },
  { what: 'port too high', text: withTop('listenport: 70000'), path: 'listenport' },
  { what: 'port a word', text: withTop('listenport: http'), path: 'listenport' },
  { what: 'port a fraction', text: withTop('listenport: 80.5'), path: 'listenport' },
  { what: 'listenaddr not an address', text: withTop('listenaddr: "not an ip"'), path: 'listenaddr' },
  { what: 'listenaddr empty', text: withTop('listenaddr: ""'), path: 'listenaddr' },
  { what: 'listenaddr a list', text: withTop('listenaddr: [127.0.0.1]'), path: 'listenaddr' },
  { what: 'no workers', text: withTop('workers: 0'), path: 'workers' },
  { what: 'negative workers', text: withTop('workers: -1'), path: 'workers' },
  { what: 'a million workers', text: withTop('workers: 1000000'), path: 'workers' },
  { what: 'workers a word', text: withTop('workers: many'), path: 'workers' },
  { what: 'negative max_lag', text: withTop('max_lag: -1'), path: 'max_lag' },
  { what: 'max_lag a word', text: withTop('max_lag: soon'), path: 'max_lag' },
  { what: 'negative shot_timeout', text: withTop('shot_timeout: -5'), path: 'shot_timeout' },
  { what: 'start_timeout a word', text: withTop('start_timeout: later'), path: 'start_timeout' },
  { what: 'negative stall_timeout', text: withTop('stall_timeout: -1'), path: 'stall_timeout' },
  { what: 'negative log_max_bytes', text: withTop('log_max_bytes: -1'), path: 'log_max_bytes' },
  { what: 'fractional log_keep', text: withTop('log_keep: 1.5'), path: 'log_keep' },
  { what: 'missing logdir', text: withTop('logdir: /nonexistent/voyandz-logs'), path: 'logdir' },
  { what: 'logdir a file', text: withTop('logdir: /etc/passwd'), path: 'logdir' },
  { what: 'pages a number', text: withTop('pages: 5'), path: 'pages' },
  { what: 'pages.home a word', text: withTop('pages: { home: sometimes }'), path: 'pages.home' },
  { what: 'feeds a list', text: `feeds: [cam]\n${STREAM}`, path: 'feeds' },
  { what: 'streams a number', text: `${FEED}streams: 5\n`, path: 'streams' },
  { what: 'a feed that is a string', text: `feeds:\n  cam: ffmpeg\n${STREAM}`, path: 'feeds.cam' },
  { what: 'a feed without command', text: `feeds:\n  cam:\n    mode: on-demand\n${STREAM}`, path: 'feeds.cam' },
  { what: 'a numeric command', text: `feeds:\n  cam:\n    command: 5\n${STREAM}`, path: 'feeds.cam.command' },
  { what: 'an empty command', text: `feeds:\n  cam:\n    command: ""\n${STREAM}`, path: 'feeds.cam.command' },
  { what: 'an unbalanced quote', text: `feeds:\n  cam:\n    command: "ffmpeg 'oops"\n${STREAM}`, path: 'feeds.cam.command' },
  { what: 'a NUL byte in a command', text: `feeds:\n  cam:\n    command: "ffmpeg\\0 -i x"\n${STREAM}`, path: 'feeds.cam.command' },
  { what: 'a lone backslash', text: `feeds:\n  cam:\n    command: 'ffmpeg \\'\n${STREAM}`, path: 'feeds.cam.command' },
  { what: 'an unknown mode', text: inFeed('mode: sometimes'), path: 'feeds.cam.mode' },
  { what: 'a negative linger', text: inFeed('mode: -3'), path: 'feeds.cam.mode' },
  { what: 'a feed of an unknown feed', text: inFeed('feed: nope'), path: 'feeds.cam.feed' },
  {
    what: 'a feed cycle',
    text: `feeds:\n  a:\n    command: x\n    feed: b\n  b:\n    command: y\n    feed: a\n${STREAM.replace('feed: cam', 'feed: a')}`,
    path: 'feeds.',
  },
  { what: 'resurrect a word', text: inFeed('resurrect: maybe'), path: 'feeds.cam.resurrect' },
  { what: 'an unknown format', text: inFeed('format: avi'), path: 'feeds.cam.format' },
  { what: 'negative feed stall_timeout', text: inFeed('stall_timeout: -2'), path: 'feeds.cam.stall_timeout' },
  { what: 'resurrect and no-resurrect contradict', text: inFeed('resurrect: always\nno-resurrect: true'), path: 'feeds.cam.no-resurrect' },
  { what: 'a stream without mimetype', text: `${FEED}streams:\n  ts:\n    feed: cam\n    command: cat\n`, path: 'streams.ts' },
  { what: 'a numeric mimetype', text: `${FEED}streams:\n  ts:\n    command: cat\n    mimetype: 5\n`, path: 'streams.ts.mimetype' },
  { what: 'a stream of an unknown feed', text: `${FEED}streams:\n  ts:\n    feed: nope\n    command: cat\n    mimetype: video/mp2t\n`, path: 'streams.ts.feed' },
  { what: 'an unknown client', text: inStream('client: both'), path: 'streams.ts.client' },
  { what: 'an unknown type', text: inStream('type: movie'), path: 'streams.ts.type' },
  { what: 'a url on a page', text: inStream('url: /stat'), path: 'streams.ts.url' },
  {
    what: "a url on another stream's path",
    text: `${FEED}${STREAM}    url: /stream/other\n  other:\n    command: cat\n    mimetype: text/plain\n`,
    path: 'streams.ts.url',
  },
  {
    what: 'two streams at one url',
    text: `${FEED}${STREAM}    url: /live\n  other:\n    command: cat\n    mimetype: text/plain\n    url: /live\n`,
    path: 'streams.other.url',
  },
  { what: 'an unknown join', text: inStream('join: sometimes'), path: 'streams.ts.join' },
  { what: 'an unknown lag_policy', text: inStream('lag_policy: maybe'), path: 'streams.ts.lag_policy' },
  { what: 'negative stream max_lag', text: inStream('max_lag: -1'), path: 'streams.ts.max_lag' },
  { what: 'negative stream max_clients', text: inStream('max_clients: -1'), path: 'streams.ts.max_clients' },
  { what: 'feed and feeds both', text: inStream('feeds: [cam]'), path: 'streams.ts' },
  {
    what: 'a feed named twice in feeds',
    text: `${FEED}streams:\n  ts:\n    feeds: [cam, cam]\n    command: ffmpeg -i \${feeds.cam} -f mpegts -\n    mimetype: video/mp2t\n`,
    path: 'streams.ts.feeds',
  },
  { what: 'a name with a slash', text: `${FEED}streams:\n  a/b:\n    command: cat\n    mimetype: text/plain\n`, path: 'streams.a/b' },
  { what: 'a name of dots', text: `${FEED}streams:\n  "..":\n    command: cat\n    mimetype: text/plain\n`, path: 'streams...' },
  { what: 'a feed named __proto__', text: `feeds:\n  __proto__:\n    command: x\n${STREAM}`, path: 'feeds.__proto__' },
  { what: 'a stream named constructor', text: `${FEED}streams:\n  constructor:\n    command: cat\n    mimetype: text/plain\n`, path: 'streams.constructor' },
  { what: 'a stream written twice', text: `${FEED}${STREAM}${STREAM.replace('streams:\n', '')}`, path: 'streams.ts' },
  { what: 'unclosed flow list', text: 'feeds: [unclosed\n', path: '' },
  { what: 'bad indentation', text: 'feeds:\n  cam:\n    command: x\n   mode: continuous\n', path: '' },
  { what: 'a tab for indentation', text: 'feeds:\n\tcam:\n\t\tcommand: x\n', path: '' },
  { what: 'an unknown alias', text: `${FEED}streams:\n  ts: *nothing\n`, path: '' },
  { what: 'Latin-1 bytes', text: Buffer.concat([Buffer.from(`${FEED}streams:\n  kamera_`), Buffer.from([0xbf]), Buffer.from(':\n    command: cat\n    mimetype: text/plain\n')]), path: '' },
  { what: 'an unknown template', text: `${FEED}streams:\n  ts:\n    template: nope\n`, path: 'streams.ts.template' },
  {
    what: 'a required template argument missing',
    text: `templates:\n  copy:\n    params: { src: ~ }\n    command: cat\n    mimetype: text/plain\n    feed: \${src}\n${FEED}streams:\n  ts:\n    template: copy\n`,
    path: 'streams.ts',
  },
  { what: 'an empty range in a set', text: `${FEED}generate:\n  - for: { n: 5..1 }\n    streams:\n      s\${n}:\n        command: cat\n        mimetype: text/plain\n`, path: 'generate' },
  { what: 'strict with an unknown key', text: withTop('strict: true\ndescription: my server'), path: 'description' },
  { what: 'an allow entry that is no address', text: withTop('access: { allow: ["999.1.1.1/8"] }'), path: 'access.allow' },
  { what: 'a users file that does not exist', text: withTop('access: { users: /nonexistent/users.htpasswd }'), path: 'access.users' },
  { what: 'max_clients a word', text: withTop('max_clients: lots'), path: 'max_clients' },
  { what: 'a trusted proxy that is no address', text: withTop('trusted_proxies: [nonsense]'), path: 'trusted_proxies' },
  {
    what: 'a placeholder naming no input',
    text: `${FEED}streams:\n  ts:\n    feeds: [cam]\n    command: ffmpeg -i \${feeds.mic} -f mpegts -\n    mimetype: video/mp2t\n`,
    path: 'streams.ts',
  },
];

const POSITION = /\.yaml:\d+:\d+:/;

test(`--check refuses each of ${BROKEN.length} broken configs, pointing at the line and the key`, async () => {
  assert.ok(BROKEN.length >= 60, `the table has ${BROKEN.length} configs`);
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-broken-'));
  try {
    const results = await mapLimited(BROKEN, 2, async (broken, index) => {
      const file = join(dir, `broken-${index}.yaml`);
      writeFileSync(file, broken.text);
      return { broken, ...(await check(file)) };
    });
    const failures: string[] = [];
    for (const { broken, code, stderr } of results) {
      const lines = stderr.split('\n').filter((line) => POSITION.test(line));
      const named = lines.some((line) => broken.path === '' || line.includes(`: ${broken.path}`));
      if (code !== 1) failures.push(`${broken.what}: exit ${code}`);
      else if (!named) failures.push(`${broken.what}: no file:line:col line naming ${broken.path || 'a position'}:\n${stderr}`);
      if (/\n\s+at .+:\d+:\d+\)?$/m.test(stderr)) failures.push(`${broken.what}: a stack trace:\n${stderr}`);
    }
    assert.deepEqual(failures, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an empty config is accepted with a warning that it serves nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-empty-'));
  try {
    for (const text of ['', '# nothing yet\n', 'listenport: 8091\n']) {
      const file = join(dir, 'empty.yaml');
      writeFileSync(file, text);
      const { code, stderr } = await check(file);
      assert.equal(code, 0, stderr);
      assert.match(stderr, /empty\.yaml:1:1: warning: no feeds and no streams/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('seeded random damage to a good config: accepted, or rejected with positioned issues; nothing else is thrown', () => {
  const random = seeded(20261202);
  const damages: ((text: string) => string)[] = [
    (text) => remove(text, random() * text.length, 1 + random() * 4),
    (text) => insert(text, random() * text.length, pick(random, [':', ' ', '\n', '"', "'", '[', '{', '-', '&a', '*a', '\0', '\t', '!!binary ', '${x}'])),
    (text) => swapLines(text, random),
    (text) => text.replace(/\d+/, () => pick(random, ['-1', '0', '1e9', 'x', '', '0x10', '.5'])),
    (text) => text.replace(/: [^\n]+/, () => `: ${pick(random, ['~', '[]', '{}', 'true', '"', '|', '>'])}`),
  ];
  let rejected = 0;
  for (let i = 0; i < 500; i++) {
    let text = GOOD;
    const rounds = 1 + Math.floor(random() * 3);
    for (let r = 0; r < rounds; r++) text = pick(random, damages)(text);
    try {
      loadConfigText(text, 'fuzz.yaml');
    } catch (error) {
      assert.ok(error instanceof ConfigError, `mutation ${i} threw ${String(error)}:\n${text}`);
      assert.ok(error.issues.length > 0, `mutation ${i}: rejected with no issue`);
      for (const issue of error.issues) assert.ok(issue.line >= 1 && issue.column >= 1, `mutation ${i}: ${JSON.stringify(issue)}`);
      rejected++;
    }
  }
  assert.ok(rejected > 50, `only ${rejected} of 500 mutations were rejected: the damage is too mild to test anything`);
});

async function check(file: string): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(process.execPath, [CLI, '--check', '-f', file], { env: { ...process.env, VOYANDZ_LOG_FORMAT: 'json' } });
    return { code: 0, stderr };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

async function mapLimited<T, R>(items: T[], limit: number, each: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await each(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: limit }, lane));
  return results;
}

/** mulberry32: a small deterministic generator, so a failure can be replayed. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, from: readonly T[]): T {
  return from[Math.floor(random() * from.length)];
}

function remove(text: string, at: number, length: number): string {
  return text.slice(0, Math.floor(at)) + text.slice(Math.floor(at + length));
}

function insert(text: string, at: number, what: string): string {
  return text.slice(0, Math.floor(at)) + what + text.slice(Math.floor(at));
}

function swapLines(text: string, random: () => number): string {
  const lines = text.split('\n');
  const a = Math.floor(random() * lines.length);
  const b = Math.floor(random() * lines.length);
  [lines[a], lines[b]] = [lines[b], lines[a]];
  return lines.join('\n');
}
