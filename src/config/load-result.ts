/**
 * A config load as a plain value, so it can cross a thread boundary (the
 * piscina config thread answers with it) without losing the issue list.
 */
import { ConfigError, type ConfigIssue } from './config-error.js';
import { loadConfigFile } from './load.js';
import type { ServerConfig } from './types.js';

export type ConfigLoadResult =
  | { ok: true; config: ServerConfig }
  | { ok: false; issues: ConfigIssue[]; message: string };

export async function loadConfigResult(file: string): Promise<ConfigLoadResult> {
  try {
    return { ok: true, config: await loadConfigFile(file) };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, issues: error.issues, message: error.format() };
    return { ok: false, issues: [], message: error instanceof Error ? error.message : String(error) };
  }
}
