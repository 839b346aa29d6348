import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findComponents } from '../src/cluster/assignment.js';
import { loadConfigText } from '../src/config/load.js';

test('every feed of a multi-feed stream is in the stream\'s component', () => {
  const config = loadConfigText(
    [
      'feeds:',
      '  cam: {command: a}',
      '  mic: {command: b}',
      '  other: {command: c}',
      'streams:',
      '  av:',
      '    feeds: {v: cam, a: mic}',
      '    command: x ${feeds.v} ${feeds.a}',
      '    mimetype: video/mp2t',
      '  solo:',
      '    feed: other',
      '    command: x',
      '    mimetype: video/mp2t',
      '',
    ].join('\n'),
    'config.yaml',
  ).config;
  const components = findComponents(config).map((c) => ({ feeds: c.feeds.sort(), streams: c.streams }));
  assert.deepEqual(components, [
    { feeds: ['cam', 'mic'], streams: ['av'] },
    { feeds: ['other'], streams: ['solo'] },
  ]);
});
