/**
 * Loading a config: YAML text -> templates and generated sets expanded ->
 * schema -> cross checks -> ServerConfig.
 * Every stage after the YAML syntax runs even when an earlier one found
 * problems, and all problems are thrown together as one ConfigError.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { VoyandzError } from '../errors.js';
import { checkConfig } from './checks.js';
import { ConfigError } from './config-error.js';
import { resolveConfig } from './resolve.js';
import { dedupe, expandConfig } from './expand.js';
import { checkSchema } from './schema-issues.js';
import type { ServerConfig } from './types.js';
import { YamlSource } from './yaml-source.js';

/**
 * Reads and loads `file`. Throws VoyandzError CONFIG_READ when it cannot be
 * read, ConfigError when it is not a valid config.
 */
export async function loadConfigFile(file: string): Promise<ServerConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new VoyandzError('CONFIG_READ', file, error instanceof Error ? error.message : String(error));
  }
  return loadConfigText(text, file);
}

/**
 * Loads config text. `file` names it in messages as given; relative paths in
 * the config (logdir) are relative to its directory.
 */
export function loadConfigText(text: string, file: string): ServerConfig {
  const source = new YamlSource(text, file);
  const syntax = source.syntaxIssues();
  // Past a syntax error, yaml guesses at the structure: later messages would mislead.
  if (syntax.length > 0) throw new ConfigError(file, syntax);

  const absolute = path.resolve(file);
  const expansion = expandConfig(dropEmptyValues(source.data() ?? {}, []));
  const schema = checkSchema(expansion.data);
  const found = [...(schema.ok ? [] : schema.issues), ...checkConfig(expansion.data, absolute)].flatMap((issue) => expansion.translate(issue) ?? []);
  const issues = [...source.duplicateKeys(), ...dedupe([...expansion.issues, ...found]).map((issue) => source.place(issue))];
  if (issues.length > 0 || !schema.ok) throw new ConfigError(file, issues);
  return resolveConfig(schema.config, absolute);
}

/**
 * `key:` with nothing after it means "not set", so that a commented-out value
 * (`logdir:  # /var/log/voyandz`, which the original read as "no logdir")
 * falls back to the default, or is reported as required. Not for entries of
 * feeds:/streams: an empty entry is a mistake to report, not a feed or
 * stream to leave out silently.
 */
function dropEmptyValues(value: unknown, path: readonly string[]): unknown {
  // Only plain mappings: lists, dates and other YAML types are the schema's to judge.
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return value;
  const entriesOfNamedMap = path.length === 1 && (path[0] === 'feeds' || path[0] === 'streams' || path[0] === 'templates');
  // A param written `url:` or `url: ~` has no default: it is required, not absent.
  const templateParams = path.length === 3 && path[0] === 'templates' && path[2] === 'params';
  // fromEntries defines own properties: a `__proto__` key stays a key (and is reported as unknown).
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, inner]) => inner !== null || entriesOfNamedMap || templateParams)
      .map(([key, inner]) => [key, dropEmptyValues(inner, [...path, key])]),
  );
}
