import { ERRORS, errorText, type ErrorArgs, type ErrorKey } from '../errors.js';
import { CONTENT_TYPE } from './content-type.js';
import type { HttpResponse } from './response.js';

/**
 * The HTTP answer of an error from the table: its status, and a plain-text
 * body that starts with its code. Nothing else builds an error answer.
 */
export function errorResponse<K extends ErrorKey>(key: K, ...args: ErrorArgs<K>): HttpResponse {
  const status = ERRORS[key].status;
  if (status === undefined) throw new TypeError(`${ERRORS[key].code} has no HTTP status`);
  return {
    status,
    headers: { 'content-type': CONTENT_TYPE.PLAIN, 'cache-control': 'no-store' },
    body: Buffer.from(`${errorText(key, ...args)}\n`),
  };
}
