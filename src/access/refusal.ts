import { ERRORS, type ErrorArgs, type ErrorKey } from '../errors.js';
import { errorResponse } from '../http/error-response.js';
import type { HttpResponse } from '../http/response.js';

/** The `reason` label of voyandz_requests_refused_total: why the primary said no. */
export type RefusalReason =
  | 'ip'
  | 'auth'
  | 'signature'
  | 'expired'
  | 'max_clients'
  | 'max_bandwidth'
  | 'per_ip'
  | 'head_timeout'
  | 'pending_heads'
  | 'descriptors';

/** A refused request: the answer (from the errors table) and why. */
export interface Refusal {
  reason: RefusalReason;
  /** VOYANDZ_ERR_…, for the log line. */
  code: string;
  response: HttpResponse;
}

export function refusal<K extends ErrorKey>(reason: RefusalReason, key: K, ...args: ErrorArgs<K>): Refusal {
  return { reason, code: ERRORS[key].code, response: errorResponse(key, ...args) };
}

/** Seconds a client refused by a limit is told to wait (Retry-After). */
export const RETRY_AFTER_SECONDS = 5;
