import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERRORS, type ErrorKey } from '../src/errors.js';
import { errorResponse } from '../src/http/error-response.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const code = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'workers'))]
  .filter((file) => !file.endsWith(join('src', 'errors.ts')))
  .map((file) => readFileSync(file, 'utf8'))
  .join('\n');

test('every error of the table is used by the server (fastify lib/errors.js style)', () => {
  const keys = Object.keys(ERRORS) as ErrorKey[];
  const unused = keys.filter((key) => !new RegExp(`ERRORS\\.${key}\\b|'${key}'`).test(code));
  assert.deepEqual(unused, [], 'errors declared but never raised');
});

test('no error code is written outside the table', () => {
  assert.deepEqual(code.match(/VOYANDZ_ERR_[A-Z_]+/g) ?? [], []);
});

test('every error code is documented in the README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const missing = Object.values(ERRORS)
    .map((error) => error.code)
    .filter((c) => !readme.includes(c));
  assert.deepEqual(missing, []);
});

test('an HTTP error answer has the status of the table and a body starting with its code', () => {
  for (const [key, error] of Object.entries(ERRORS)) {
    if (error.status === undefined) continue;
    const args = Array.from({ length: error.message.length }, (_, i) => `arg${i}`);
    const response = (errorResponse as (key: string, ...a: string[]) => ReturnType<typeof errorResponse>)(key, ...args);
    assert.equal(response.status, error.status, key);
    assert.ok(response.body.toString().startsWith(`${error.code}: `), key);
    assert.equal(response.headers['content-type'], 'text/plain; charset=utf-8');
  }
});
