/**
 * Runs the schema and turns zod's issues into short messages at key paths.
 * Value messages are written in the schema itself (schema.ts); what is left
 * here is what zod reports per mapping rather than per value: unknown keys
 * (one issue per key, with a "did you mean" hint) and invalid names.
 */
import { z } from 'zod';
import { ConfigSchema, type RawConfig } from './schema.js';
import type { KeyPath, PathIssue } from './path-issue.js';

export type SchemaResult = { ok: true; config: RawConfig } | { ok: false; issues: PathIssue[] };

/** Only reached by a value check that has no message in the schema: a bug there, still worded for a user. */
const FALLBACK_ERROR = { error: () => 'is not valid here' };

export function checkSchema(data: unknown): SchemaResult {
  const result = ConfigSchema.safeParse(data, FALLBACK_ERROR);
  if (result.success) return { ok: true, config: result.data };
  return { ok: false, issues: toPathIssues(result.error.issues, [], data) };
}

function toPathIssues(issues: readonly z.core.$ZodIssue[], prefix: KeyPath, data: unknown): PathIssue[] {
  return issues.flatMap((issue): PathIssue[] => {
    const path = [...prefix, ...issue.path.map(pathSegment)];
    switch (issue.code) {
      case 'unrecognized_keys':
        // The original ignored keys it did not know; a typo still deserves a word.
        return issue.keys.map((key) => ({ path: [...path, key], message: unknownKey(key, path), at: 'key', severity: 'warning' }));
      case 'invalid_key':
        return [{ path, message: issue.issues[0]?.message ?? 'invalid name', at: 'key' }, ...checkEntry(path, data)];
      default:
        return [{ path, message: issue.message }];
    }
  });
}

function pathSegment(segment: PropertyKey): string | number {
  return typeof segment === 'number' ? segment : String(segment);
}

/**
 * zod skips the value of a record entry whose name is invalid; check it on
 * its own, so the user learns about its other problems in the same round.
 */
function checkEntry(path: KeyPath, data: unknown): PathIssue[] {
  const record = unwrap(schemaAt(path.slice(0, -1)));
  if (!(record instanceof z.ZodRecord)) return [];
  const value = valueAt(data, path);
  const result = (record.valueType as z.ZodType).safeParse(value, FALLBACK_ERROR);
  return result.success ? [] : toPathIssues(result.error.issues, path, data);
}

function unknownKey(key: string, path: KeyPath): string {
  const object = unwrap(schemaAt(path));
  const known = object instanceof z.ZodObject ? Object.keys(object.shape) : [];
  const guess = closest(key, known);
  if (guess !== undefined) return `unknown key (did you mean "${guess}"?)`;
  return known.length > 0 ? `unknown key (known: ${known.join(', ')})` : 'unknown key';
}

/** The schema describing the value at a key path, found by walking the schema itself. */
function schemaAt(path: KeyPath): z.ZodType | undefined {
  let schema: z.ZodType | undefined = ConfigSchema;
  for (const segment of path) {
    const inner = unwrap(schema);
    if (inner instanceof z.ZodObject) schema = (inner.shape as Record<string, z.ZodType>)[String(segment)];
    else if (inner instanceof z.ZodRecord) schema = inner.valueType as z.ZodType;
    else return undefined;
  }
  return schema;
}

/** Looks through default/optional wrappers to the schema that does the checking. */
function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let inner = schema;
  while (
    inner instanceof z.ZodDefault ||
    inner instanceof z.ZodPrefault ||
    inner instanceof z.ZodOptional ||
    inner instanceof z.ZodNullable
  ) {
    inner = inner.unwrap() as z.ZodType;
  }
  return inner;
}

function valueAt(data: unknown, path: KeyPath): unknown {
  let value = data;
  for (const segment of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[String(segment)];
  }
  return value;
}

/**
 * The known key a typo most likely meant: same letters ignoring case and
 * `-`/`_` (listen_port, noResurrect), else at most 1 edit for short keys and
 * 2 for longer ones (mimetyp, comand).
 */
export function closest(key: string, known: readonly string[]): string | undefined {
  const squash = (text: string): string => text.toLowerCase().replace(/[-_]/g, '');
  const same = known.find((candidate) => squash(candidate) === squash(key));
  if (same !== undefined) return same;
  const limit = key.length < 5 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}
