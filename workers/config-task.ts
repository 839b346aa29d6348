/**
 * Piscina task: load, template and validate a config file off the primary's
 * event loop, so a large config (hundreds of generated cameras) being
 * reloaded never stalls the accept loop that every new client goes through.
 */
import type { ServerConfig } from '../src/config/types.js';
import { loadConfigFile } from '../src/config/load.js';
import { ConfigError, type ConfigIssue } from '../src/config/config-error.js';

export type ConfigTaskResult =
  | { ok: true; config: ServerConfig }
  | { ok: false; issues: ConfigIssue[]; message: string };

export default async function loadConfigTask(file: string): Promise<ConfigTaskResult> {
  try {
    return { ok: true, config: await loadConfigFile(file) };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, issues: error.issues, message: error.format() };
    return { ok: false, issues: [], message: error instanceof Error ? error.message : String(error) };
  }
}
