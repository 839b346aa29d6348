import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, problemsOf, yaml } from './helpers/config.js';

const errorsOf = problemsOf;

const CAMERA_TEMPLATE = [
  'templates:',
  '  camera:',
  '    params: { url: ~, size: 640x360, lag: 4 }',
  '    command: ffmpeg -i ${url} -s ${size} -f mpegts -',
  '    mode: 30',
  '  view:',
  '    params: { lag: 4 }',
  '    command: ffmpeg -i - -c copy -f mpegts -',
  '    mimetype: video/mp2t',
  '    max_lag: ${lag}',
];

// ---------------------------------------------------------------- templates

test('a template fills its placeholders from args, then defaults; the entry overrides its keys', () => {
  const config = load(
    yaml(
      ...CAMERA_TEMPLATE,
      'feeds:',
      '  cam1: { template: camera, args: { url: rtsp://10.0.0.1/live } }',
      '  cam2:',
      '    template: camera',
      '    args: { url: "rtsp://10.0.0.2/live", size: 320x240 }',
      '    mode: continuous',
      'streams:',
      '  cam1: { template: view, feed: cam1, args: { lag: 2.5 } }',
    ),
  );
  assert.equal(config.feeds.cam1.command, 'ffmpeg -i rtsp://10.0.0.1/live -s 640x360 -f mpegts -');
  assert.deepEqual(config.feeds.cam1.argv, ['ffmpeg', '-i', 'rtsp://10.0.0.1/live', '-s', '640x360', '-f', 'mpegts', '-']);
  assert.deepEqual(config.feeds.cam1.mode, { lingerSeconds: 30 });
  assert.equal(config.feeds.cam2.command, 'ffmpeg -i rtsp://10.0.0.2/live -s 320x240 -f mpegts -');
  assert.equal(config.feeds.cam2.mode, 'continuous');
  // A value that is one placeholder keeps the argument's type: max_lag is a number.
  assert.equal(config.streams.cam1.maxLagSeconds, 2.5);
  assert.equal(config.streams.cam1.feed, 'cam1');
  assert.equal(config.streams.cam1.mimetype, 'video/mp2t');
});

test('entries without templates keep ${...} as written; $${ writes a literal ${ in templated ones', () => {
  const config = load(
    yaml(
      'templates:',
      '  sh:',
      '    params: { word: hi }',
      "    command: sh -c 'echo ${word} $${HOME}'",
      '    mimetype: text/plain',
      'streams:',
      "  plain: { command: \"sh -c 'echo ${HOME}'\", mimetype: text/plain }",
      '  templated: { template: sh }',
    ),
  );
  assert.deepEqual(config.streams.plain.argv, ['sh', '-c', 'echo ${HOME}']);
  assert.deepEqual(config.streams.templated.argv, ['sh', '-c', 'echo hi ${HOME}']);
});

// ---------------------------------------------------------------- generated sets

test('a generated set expands a range, zero-padded ranges and the product of lists', () => {
  const config = load(
    yaml(
      ...CAMERA_TEMPLATE,
      'generate:',
      '  - for: { n: 1..3 }',
      '    feeds:',
      '      cam${n}: { template: camera, args: { url: "rtsp://10.0.0.${n}/" } }',
      '  - for: { n: 1..2, kind: [hi, lo] }',
      '    streams:',
      '      cam${n}-${kind}:',
      '        template: view',
      '        feed: cam${n}',
      '        url: /${kind}/${n}',
      '  - for: { id: 08..10 }',
      '    streams:',
      '      pad${id}: { command: "echo ${id}", mimetype: text/plain, type: shot }',
    ),
  );
  assert.deepEqual(Object.keys(config.feeds), ['cam1', 'cam2', 'cam3']);
  assert.equal(config.feeds.cam3.command, 'ffmpeg -i rtsp://10.0.0.3/ -s 640x360 -f mpegts -');
  assert.deepEqual(
    Object.values(config.streams).map((s) => `${s.name} ${s.altUrl ?? s.url} ${s.feed ?? '-'}`),
    [
      'cam1-hi /hi/1 cam1',
      'cam1-lo /lo/1 cam1',
      'cam2-hi /hi/2 cam2',
      'cam2-lo /lo/2 cam2',
      'pad08 /stream/pad08 -',
      'pad09 /stream/pad09 -',
      'pad10 /stream/pad10 -',
    ],
  );
  assert.equal(config.streams.pad08.command, 'echo 08');
});

test('a set over a list of mappings reads fields as ${var.field}', () => {
  const config = load(
    yaml(
      ...CAMERA_TEMPLATE,
      'generate:',
      '  - for:',
      '      cam:',
      '        - { name: door, host: 10.0.0.5 }',
      '        - { name: yard, host: 10.0.0.6 }',
      '    feeds:',
      '      ${cam.name}: { template: camera, args: { url: "rtsp://${cam.host}/live" } }',
    ),
  );
  assert.equal(config.feeds.door.command, 'ffmpeg -i rtsp://10.0.0.5/live -s 640x360 -f mpegts -');
  assert.equal(config.feeds.yard.command, 'ffmpeg -i rtsp://10.0.0.6/live -s 640x360 -f mpegts -');
});

// ---------------------------------------------------------------- errors

test('template mistakes: unknown template, missing and unknown arguments, unknown placeholders', () => {
  assert.deepEqual(
    errorsOf(
      yaml(
        'templates:',
        '  camera:',
        '    params: { url: ~, size: 640x360 }',
        '    command: ffmpeg -i ${url} -s ${sise} -f mpegts -',
        '  view:',
        '    params: { lag: 4 }',
        '    command: ffmpeg -i - -f mpegts -',
        '    mimetype: video/mp2t',
        'feeds:',
        '  cam1: { template: camra, args: { url: x } }',
        '  cam2: { template: view }',
        'streams:',
        '  a: { template: view, args: { lga: 3 }, feed: cam2 }',
        '  b: { template: view, feed: cam2, url: "/${lag}/${nope}" }',
      ),
    ),
    [
      'config.yaml:4:14: templates.camera.command: unknown placeholder ${sise} (params: url, size)',
      // A stream template used by a feed: the stream-only key is pointed at in the template.
      'config.yaml:8:5: warning: feeds.cam2.mimetype: unknown key (known: command, pull, pull_headers, mode, feed, resurrect, no-resurrect, stall_timeout, format, template, args)',
      'config.yaml:10:21: feeds.cam1.template: unknown template "camra" (did you mean "camera"?)',
      'config.yaml:13:32: streams.a.args.lga: template view has no parameter "lga" (it has: lag)',
      'config.yaml:14:41: streams.b.url: unknown placeholder ${nope} (known: lag)',
    ],
  );
});

test('args: without template: is an error, not silently ignored', () => {
  assert.deepEqual(errorsOf(yaml('feeds:', '  cam1:', '    command: cat', '    args: { url: x }')), [
    'config.yaml:4:5: feeds.cam1.args: args: fills the params of a template: add template: NAME',
  ]);
});

test('a required param with no argument names what to add', () => {
  assert.deepEqual(
    errorsOf(yaml('templates:', '  camera:', '    params: { url: ~ }', '    command: ffmpeg -i ${url} -f mpegts -', 'feeds:', '  cam1:', '    template: camera')),
    ['config.yaml:7:15: feeds.cam1.template: template camera needs argument "url": add args: { url: … }'],
  );
});

test('a problem in a generated entry points at the line that wrote it, and names the instance', () => {
  assert.deepEqual(
    errorsOf(
      yaml(
        'feeds:',
        '  cam1: { command: cat }',
        'generate:',
        '  - for: { n: 1..3 }',
        '    streams:',
        '      cam${n}:',
        '        command: cat',
        '        mimetype: video/mp2t',
        '        feed: cam${n}',
        '        max_lag: -${n}',
      ),
    ),
    [
      'config.yaml:9:15: streams.cam2.feed: unknown feed "cam2" (known: cam1) (n=2)',
      'config.yaml:9:15: streams.cam3.feed: unknown feed "cam3" (known: cam1) (n=3)',
      // The same message for every instance is said once.
      'config.yaml:10:18: streams.cam1.max_lag: must be a number of seconds > 0 (n=1)',
    ],
  );
});

test('names that collide after expansion are rejected where the second one is made', () => {
  assert.deepEqual(
    errorsOf(
      yaml(
        'streams:',
        '  cam2: { command: cat, mimetype: x/y }',
        'generate:',
        '  - for: { n: [1, 2] }',
        '    streams:',
        '      cam${n}: { command: cat, mimetype: x/y }',
        '  - for: { n: [1] }',
        '    streams:',
        '      cam${n}: { command: cat, mimetype: x/y }',
      ),
    ),
    [
      'config.yaml:6:7: generate[0].streams.cam${n}: streams.cam2 is defined twice: by streams.cam2 and by generate[0] (n=2)',
      'config.yaml:9:7: generate[1].streams.cam${n}: streams.cam1 is defined twice: by generate[0] (n=1) and by generate[1] (n=1)',
    ],
  );
});

test('set mistakes: unknown variable, bad values, empty range, reserved name, too many combinations', () => {
  assert.deepEqual(
    errorsOf(
      yaml(
        'generate:',
        '  - for: { n: 1..2 }',
        '    streams:',
        '      s${m}: { command: cat, mimetype: x/y }',
        '  - for: { n: 5..1 }',
        "    streams: { 's${n}': { command: cat, mimetype: x/y } }",
        '  - for: { n: {a: 1} }',
        "    streams: { 't${n}': { command: cat, mimetype: x/y } }",
        '  - for: { feeds: [1] }',
        "    streams: { 'u${feeds}': { command: cat, mimetype: x/y } }",
        '  - for: { a: 1..200, b: 1..200 }',
        "    streams: { 'v${a}-${b}': { command: cat, mimetype: x/y } }",
        '  - for: { n: [1] }',
        "    streams: { 'w${n}': { command: 'echo ${n.x}', mimetype: x/y } }",
        '  - for: { n: [1] }',
        "    streams: { 'x${n}': { command: 'echo ${}', mimetype: x/y } }",
      ),
    ),
    [
      'config.yaml:4:7: generate[0].streams.s${m}: unknown placeholder ${m} (known: n)',
      'config.yaml:5:15: generate[1].for.n: range 5..1 is empty: write the smaller number first',
      'config.yaml:7:15: generate[2].for.n: must be a list of values, or a range "1..8"',
      'config.yaml:9:12: generate[3].for.feeds: "feeds" is reserved (${feeds.NAME} names a feed\'s pipe)',
      'config.yaml:11:10: generate[4].for: expands to 40000 combinations; at most 10000',
      'config.yaml:14:36: generate[5].streams.w${n}.command: unknown placeholder ${n.x} (n is not a mapping)',
      'config.yaml:16:36: generate[6].streams.x${n}.command: malformed placeholder ${} (write $${ for a literal "${")',
    ],
  );
});
