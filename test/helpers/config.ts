import assert from 'node:assert/strict';
import { ConfigError, formatIssue } from '../../src/config/config-error.js';
import { loadConfigText, type ConfigLoad, type LoadOptions } from '../../src/config/load.js';
import type { ServerConfig } from '../../src/config/types.js';

/** One YAML line per argument, so a test reads with its line numbers in mind. */
export function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/** The config of a text that has no problem at all (no error, no warning). */
export function load(text: string, file = 'config.yaml'): ServerConfig {
  const { config, issues } = loadConfigText(text, file);
  assert.deepEqual(issues.map(formatIssue), [], 'the config has problems');
  return config;
}

/** The load of a text that runs (perhaps with warnings and disabled entries); fails when it is rejected. */
export function loadRunning(text: string, file = 'config.yaml', options: LoadOptions = {}): ConfigLoad {
  try {
    return loadConfigText(text, file, options);
  } catch (error) {
    if (error instanceof ConfigError) assert.fail(`the config was rejected:\n${error.format()}`);
    throw error;
  }
}

/**
 * Every problem of a text, formatted, in file order, whether the config was
 * rejected or runs with them; fails when there is none.
 */
export function problemsOf(text: string, file = 'config.yaml', options: LoadOptions = {}): string[] {
  let issues: string[];
  try {
    issues = loadConfigText(text, file, options).issues.map(formatIssue);
  } catch (error) {
    if (error instanceof ConfigError) return error.format().split('\n');
    throw error;
  }
  assert.ok(issues.length > 0, 'the config has no problem');
  return issues;
}

/** Whether the text is rejected as a whole (not only some of its entries). */
export function isRejected(text: string, file = 'config.yaml', options: LoadOptions = {}): boolean {
  try {
    loadConfigText(text, file, options);
    return false;
  } catch (error) {
    if (error instanceof ConfigError) return true;
    throw error;
  }
}
