import type { Logger } from 'pino';
import { ERRORS } from '../errors.js';
import { formatIssue, type ConfigIssue } from './config-error.js';
import type { ServerConfig } from './types.js';

/**
 * A config that runs may still have problems: warnings (unknown keys) and
 * entries disabled by their errors. Both are logged at every load (start
 * and reload), one line each, so they are not missed in a running server.
 */
export function logConfigIssues(log: Logger, config: ServerConfig, issues: readonly ConfigIssue[]): void {
  for (const issue of issues) {
    const fields = { file: issue.file, line: issue.line, column: issue.column, path: issue.path };
    if (issue.severity === 'warning') log.warn({ code: ERRORS.CONFIG_WARNING.code, ...fields }, ERRORS.CONFIG_WARNING.message(formatIssue(issue)));
  }
  for (const [what, entries] of [['feed', config.disabled.feeds], ['stream', config.disabled.streams]] as const) {
    for (const entry of Object.values(entries)) {
      const message = ERRORS.ENTRY_DISABLED.message(what, entry.name, entry.errors.join('; '));
      log.error({ code: ERRORS.ENTRY_DISABLED.code, [what]: entry.name, errors: entry.errors }, message);
    }
  }
}

/** Errors make `--check` fail, warnings alone do not. */
export function hasErrors(issues: readonly ConfigIssue[]): boolean {
  return issues.some((issue) => issue.severity === 'error');
}
