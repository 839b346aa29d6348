/**
 * A config load as a plain value, so it can cross a thread boundary (the
 * piscina config thread answers with it) without losing the issue list.
 */
import { ConfigError, type ConfigIssue } from './config-error.js';
import { loadConfigFile } from './load.js';
import type { ServerConfig } from './types.js';

export interface ConfigLoadRequest {
  file: string;
  /** --strict: any problem, warnings included, rejects the config. */
  strict?: boolean;
}

export type ConfigLoadResult =
  /** `issues`: warnings, and errors that disabled one entry each (the rest runs). */
  | { ok: true; config: ServerConfig; issues: ConfigIssue[] }
  | { ok: false; issues: ConfigIssue[]; message: string };

export async function loadConfigResult(request: ConfigLoadRequest): Promise<ConfigLoadResult> {
  try {
    const { config, issues } = await loadConfigFile(request.file, { strict: request.strict === true });
    return { ok: true, config, issues };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, issues: error.issues, message: error.message };
    return { ok: false, issues: [], message: error instanceof Error ? error.message : String(error) };
  }
}
