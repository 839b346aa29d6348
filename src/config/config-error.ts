/**
 * A rejected config: every problem found, each with the place in the file a
 * user has to go to, so one round of fixing is enough.
 */
import { ERRORS } from '../errors.js';
import type { Severity } from './path-issue.js';

export interface ConfigIssue {
  /** The config file as the user named it (not made absolute: it is what they typed). */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Key path, e.g. `streams.cam1.mimetype`; empty for the document as a whole. */
  path: string;
  message: string;
  severity: Severity;
}

/**
 * `config.yaml:14:5: streams.cam1.feed: unknown feed "cam_1" (known: cam1, cam2)`;
 * a warning says so after the position, as compilers do.
 */
export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}:${issue.severity === 'warning' ? ' warning:' : ''}`;
  return issue.path === '' ? `${where} ${issue.message}` : `${where} ${issue.path}: ${issue.message}`;
}

/** In file order: how a user reads a list of problems. */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
}

function countIssues(issues: readonly ConfigIssue[]): string {
  const errors = issues.filter((issue) => issue.severity === 'error').length;
  const warnings = issues.length - errors;
  return `${errors} error(s)${warnings > 0 ? ` and ${warnings} warning(s)` : ''}`;
}

export class ConfigError extends Error {
  readonly code = ERRORS.CONFIG_INVALID.code;
  readonly issues: ConfigIssue[];

  constructor(file: string, issues: ConfigIssue[]) {
    const sorted = sortIssues(issues);
    super(`${ERRORS.CONFIG_INVALID.message(file, countIssues(sorted))}\n${sorted.map(formatIssue).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = sorted;
  }

  /** One line per issue, in file order. */
  format(): string {
    return this.issues.map(formatIssue).join('\n');
  }
}
