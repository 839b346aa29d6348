/**
 * A relay's pull written back in the file's terms, for `--check` and
 * /config. Credentials never appear: the values of headers that carry them
 * (Authorization, Cookie, …) are shown as HIDDEN, like password hashes.
 */
import { HIDDEN } from './render-access.js';
import type { PullConfig } from './types.js';

/** Header names (lower case) whose values are secrets. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);

export function renderPullKeys(pull: PullConfig): Record<string, unknown> {
  const headers = pullHeadersShown(pull.headers);
  return { pull: pull.url, ...(Object.keys(headers).length === 0 ? {} : { pull_headers: headers }) };
}

/** The headers with every secret value replaced by HIDDEN. */
export function pullHeadersShown(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, SECRET_HEADERS.has(name.toLowerCase()) ? HIDDEN : value]));
}
