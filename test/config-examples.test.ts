import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { loadConfigFile } from '../src/config/load.js';
import { configJsonSchemaText } from '../src/config/json-schema.js';
import { ConfigSchema, FeedSchema, GenerateSetSchema, PagesSchema, StreamSchema, TemplateSchema } from '../src/config/schema.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONFIG_DIR = join(ROOT, 'config');
const examples = readdirSync(CONFIG_DIR).filter((name) => name.endsWith('.yaml'));

test('every example config in config/ loads, and names the JSON Schema for editors', async () => {
  assert.ok(examples.length >= 3, `examples: ${examples.join(', ')}`);
  for (const name of examples) {
    const file = join(CONFIG_DIR, name);
    const { config, issues } = await loadConfigFile(file);
    assert.deepEqual(issues, [], `${name} has problems`);
    assert.ok(Object.keys(config.streams).length > 0, `${name} serves no stream`);
    const firstLine = readFileSync(file, 'utf8').split('\n')[0];
    assert.equal(firstLine, '# yaml-language-server: $schema=./voyandz.schema.json', name);
  }
});

test('config/voyandz.schema.json is generated from the loader\'s schema (npm run schema)', () => {
  const shipped = readFileSync(join(CONFIG_DIR, 'voyandz.schema.json'), 'utf8');
  assert.equal(shipped, configJsonSchemaText(), 'config/voyandz.schema.json is stale: run npm run schema');
});

/** The text of a README section, from its heading to the next heading of any level. */
function section(readme: string, heading: string): string {
  const start = readme.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has no "${heading}" section`);
  const next = readme.indexOf('\n#', start + heading.length + 2);
  return readme.slice(start, next < 0 ? undefined : next);
}

function keysOf(schema: z.ZodType): string[] {
  let inner: z.ZodType = schema;
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodPrefault || inner instanceof z.ZodOptional) inner = inner.unwrap() as z.ZodType;
  assert.ok(inner instanceof z.ZodObject);
  return Object.keys(inner.shape);
}

test('the README configuration reference documents every key of the schema', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const expectations: [string, string[]][] = [
    ['### Top level', [...keysOf(ConfigSchema).filter((key) => key !== 'pages'), ...keysOf(PagesSchema).map((key) => `pages.${key}`)]],
    ['### `feeds.NAME`', keysOf(FeedSchema)],
    ['### `streams.NAME`', keysOf(StreamSchema)],
    ['### `templates.NAME`', keysOf(TemplateSchema).filter((key) => key === 'params')],
    ['### `generate`', keysOf(GenerateSetSchema)],
  ];
  for (const [heading, keys] of expectations) {
    const text = section(readme, heading);
    const missing = keys.filter((key) => !text.includes(`\`${key}\``));
    assert.deepEqual(missing, [], `README "${heading}" does not document: ${missing.join(', ')}`);
  }
});

test('editors validating with the JSON Schema accept the examples and flag the usual mistakes', async () => {
  const { Ajv } = await import('ajv');
  const { parse } = await import('yaml');
  const validate = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(readFileSync(join(CONFIG_DIR, 'voyandz.schema.json'), 'utf8')));
  for (const name of examples) {
    const data: unknown = parse(readFileSync(join(CONFIG_DIR, name), 'utf8'), { version: '1.1', merge: true });
    // An empty `logdir:` means "unset" to the loader; editors see a null.
    const withoutNulls = JSON.parse(JSON.stringify(data, (_key, value: unknown) => (value === null ? undefined : value))) as unknown;
    assert.ok(validate(withoutNulls), `${name}: ${JSON.stringify(validate.errors)}`);
  }
  const mistakes: [string, unknown][] = [
    ['unknown top-level key', { listen_port: 8090 }],
    ['port out of range', { listenport: 70000 }],
    ['stream without mimetype or template', { streams: { s: { command: 'cat' } } }],
    ['unknown stream key', { streams: { s: { command: 'cat', mimetype: 'x/y', mime: 'x' } } }],
    ['bad client mode', { streams: { s: { command: 'cat', mimetype: 'x/y', client: 'private' } } }],
    ['set without for', { generate: [{ feeds: { a: { command: 'cat' } } }] }],
  ];
  for (const [what, doc] of mistakes) assert.equal(validate(doc), false, `the schema accepts a config with ${what}`);
  assert.ok(validate({ streams: { s: { template: 't' } }, templates: { t: { command: 'cat', mimetype: 'x/y' } } }), 'a templated entry needs no command of its own');
});
