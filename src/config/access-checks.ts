/**
 * Checks of the files access rules name: an htpasswd file and a URL secret
 * must be readable and well-formed when the config is loaded (--check, start,
 * SIGHUP), so a typo is reported with the key's line, not at the first
 * viewer. Read loosely, like checks.ts: wrong types are the schema's.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseHtpasswd } from '../access/htpasswd.js';
import type { PathIssue } from './path-issue.js';

/** Shorter secrets are guessable from signed URLs. */
export const MIN_SECRET_BYTES = 16;

type Fields = Record<string, unknown>;

export function checkAccessFiles(data: unknown, configFile: string): PathIssue[] {
  const top = fields(data);
  const dir = path.dirname(configFile);
  const issues: PathIssue[] = [];
  const rules: [string[], unknown][] = [
    [['access'], top.access],
    [['admin_access'], top.admin_access],
    ...Object.entries(fields(top.streams)).map(([name, stream]): [string[], unknown] => [['streams', name, 'access'], fields(stream).access]),
  ];
  for (const [at, value] of rules) {
    const access = fields(value);
    if (typeof access.users === 'string' && access.users !== '') issues.push(...checkHtpasswd(path.resolve(dir, access.users), [...at, 'users']));
    const secret = fields(access.signed).secret_file;
    if (typeof secret === 'string' && secret !== '') issues.push(...checkSecret(path.resolve(dir, secret), [...at, 'signed', 'secret_file']));
  }
  return issues;
}

/** The problems of an htpasswd file, as messages (also used when the primary re-reads it). */
function htpasswdProblems(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return [`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`];
  }
  return parseHtpasswd(text).problems.map((p) => `${file}:${p.line}: ${p.message}`);
}

function secretProblems(file: string): string[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    return [`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`];
  }
  const length = trimSecret(bytes).length;
  return length < MIN_SECRET_BYTES ? [`${file}: the secret has ${length} bytes; use at least ${MIN_SECRET_BYTES} (e.g. head -c 32 /dev/urandom | base64 > FILE)`] : [];
}

/** A trailing newline (echo, editors) is not part of the secret. */
export function trimSecret(bytes: Buffer): Buffer {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  return bytes.subarray(0, end);
}

function checkHtpasswd(file: string, at: string[]): PathIssue[] {
  return htpasswdProblems(file).map((message) => ({ path: at, message }));
}

function checkSecret(file: string, at: string[]): PathIssue[] {
  return secretProblems(file).map((message) => ({ path: at, message }));
}

function fields(value: unknown): Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : {};
}
