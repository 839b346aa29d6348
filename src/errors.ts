/**
 * Every error voyandz reports to a user, in one place (like fastify's
 * lib/errors.js): a stable code to search for, a message template and, for
 * errors answered over HTTP, a status. This table is the only source: an
 * HTTP error answer is built from it (src/http/error-response.ts), a log
 * line names its code from it, and a test checks that every code is used and
 * documented in the README.
 */

export interface ErrorDefinition<A extends string[] = string[]> {
  readonly code: string;
  /** HTTP status when the error is answered to a client; undefined for errors only logged or printed. */
  readonly status: number | undefined;
  readonly message: (...args: A) => string;
}

function define<const C extends string, A extends string[]>(
  code: C,
  message: (...args: A) => string,
  status?: number,
): ErrorDefinition<A> & { readonly code: C } {
  return { code, message, status };
}

/** A program's stderr tail on the lines after a message; nothing when it wrote none. */
const stderrTail = (stderr: string): string => (stderr.trim() === '' ? '' : `\n${stderr.trimEnd()}`);

export const ERRORS = {
  CONFIG_INVALID: define('VOYANDZ_ERR_CONFIG_INVALID', (file: string, counts: string) => `${file}: ${counts} in config`),
  CONFIG_WARNING: define('VOYANDZ_ERR_CONFIG_WARNING', (issue: string) => `config warning: ${issue}`),
  ENTRY_DISABLED: define(
    'VOYANDZ_ERR_ENTRY_DISABLED',
    (what: string, name: string, reason: string) => `${what} ${name} is disabled by its config errors; the rest runs: ${reason}`,
  ),
  CONFIG_READ: define('VOYANDZ_ERR_CONFIG_READ', (file: string, reason: string) => `${file}: cannot read config: ${reason}`),
  LISTEN: define('VOYANDZ_ERR_LISTEN', (addr: string, reason: string) => `cannot listen on ${addr}: ${reason}`),
  NO_FFMPEG: define('VOYANDZ_ERR_NO_FFMPEG', () => 'no ffmpeg on PATH and no bundled ffmpeg; install ffmpeg (e.g. apt-get install ffmpeg)'),
  NOT_FOUND: define('VOYANDZ_ERR_NOT_FOUND', (path: string) => `no page or stream at ${path}`, 404),
  ADMIN_LOOPBACK_ONLY: define(
    'VOYANDZ_ERR_ADMIN_LOOPBACK_ONLY',
    (action: string) => `${action} is allowed only from loopback unless admin_access restricts the admin pages`,
    403,
  ),
  CROSS_SITE: define(
    'VOYANDZ_ERR_CROSS_SITE',
    (action: string, origin: string) => `${action} from a page of another site (${origin}) is refused; use the console at this server's /stat`,
    403,
  ),
  CLIENT_NOT_FOUND: define('VOYANDZ_ERR_CLIENT_NOT_FOUND', (id: string) => `no connected client ${id}`, 404),
  PAGE_DISABLED: define('VOYANDZ_ERR_PAGE_DISABLED', (page: string) => `the ${page} page is disabled in the config (pages.${page})`, 403),
  HEADER_TOO_LARGE: define('VOYANDZ_ERR_HEADER_TOO_LARGE', (limit: string) => `request head larger than ${limit} bytes`, 431),
  BAD_REQUEST: define('VOYANDZ_ERR_BAD_REQUEST', (reason: string) => `bad request: ${reason}`, 400),
  BAD_URL: define('VOYANDZ_ERR_BAD_URL', (path: string) => `malformed percent-encoding in ${path}`, 400),
  METHOD_NOT_ALLOWED: define('VOYANDZ_ERR_METHOD_NOT_ALLOWED', (method: string, allowed = 'GET or HEAD') => `method ${method} not allowed; use ${allowed}`, 405),
  STREAM_DISABLED: define('VOYANDZ_ERR_STREAM_DISABLED', (name: string, reason: string) => `stream ${name} is disabled by a config error: ${reason}`, 503),
  STREAM_UNAVAILABLE: define('VOYANDZ_ERR_STREAM_UNAVAILABLE', (name: string, reason: string) => `stream ${name} is unavailable: ${reason}`, 503),
  STREAM_FAILED: define(
    'VOYANDZ_ERR_STREAM_FAILED',
    // `how` names what failed: "its program exited with code 1 before producing a byte", "its pull failed (…)".
    (name: string, how: string, stderr: string) => `stream ${name}: ${how}${stderrTail(stderr)}`,
    502,
  ),
  STREAM_START_TIMEOUT: define(
    'VOYANDZ_ERR_STREAM_START_TIMEOUT',
    (name: string, seconds: string) => `stream ${name}: its program sent nothing within ${seconds} s (start_timeout)`,
    504,
  ),
  SHOT_FAILED: define('VOYANDZ_ERR_SHOT_FAILED', (name: string, how: string, stderr: string) => `shot ${name} failed (${how})${stderrTail(stderr)}`, 500),
  SHOT_TOO_LARGE: define('VOYANDZ_ERR_SHOT_TOO_LARGE', (name: string, limit: string) => `shot ${name}: output larger than ${limit} bytes; program killed`, 500),
  SHOT_TIMEOUT: define('VOYANDZ_ERR_SHOT_TIMEOUT', (name: string, seconds: string) => `shot ${name} took longer than ${seconds} s; program killed`, 504),
  PROGRAM_SPAWN: define('VOYANDZ_ERR_PROGRAM_SPAWN', (name: string, reason: string) => `cannot start program of ${name}: ${reason}`),
  PROGRAM_EXIT: define('VOYANDZ_ERR_PROGRAM_EXIT', (name: string, how: string) => `program of ${name} ${how}`),
  PROGRAM_STALLED: define(
    'VOYANDZ_ERR_PROGRAM_STALLED',
    (name: string, seconds: string) => `program of ${name} wrote nothing for ${seconds} s while needed; killing it to restart it (stall_timeout)`,
  ),
  PROGRAM_LOG: define(
    'VOYANDZ_ERR_PROGRAM_LOG',
    (path: string, reason: string) => `cannot write program stderr to ${path}: ${reason}; further errors for this file are not logged`,
  ),
  MULTIPART_BOUNDARY: define(
    'VOYANDZ_ERR_MULTIPART_BOUNDARY',
    (stream: string, written: string, declared: string) =>
      `stream ${stream}: its program writes multipart boundary "${written}" but the mimetype says "${declared}"; ` +
      `late joiners start at "${written}" parts (fix the mimetype: players read the boundary from it)`,
  ),
  PULL_FAILED: define('VOYANDZ_ERR_PULL_FAILED', (name: string, url: string, reason: string) => `pull of ${name} from ${url}: ${reason}`),
  PULL_STALLED: define(
    'VOYANDZ_ERR_PULL_STALLED',
    (name: string, url: string, seconds: string) => `pull of ${name} from ${url} received nothing for ${seconds} s while needed; reconnecting (stall_timeout)`,
  ),
  RUN_HEADER_CHANGED: define(
    'VOYANDZ_ERR_RUN_HEADER_CHANGED',
    (name: string, count: string, why: string) =>
      `${name} started over ${why}: ${count} reader(s) closed so that they reconnect (a second container header mid-stream would break their players)`,
  ),
  NOT_READY: define('VOYANDZ_ERR_NOT_READY', (reason: string) => `not ready: ${reason}`, 503),
  FEED_NOT_LOCAL: define('VOYANDZ_ERR_FEED_NOT_LOCAL', (name: string, feed: string) => `${name}: feed ${feed} is not run by this worker; the program gets no input`),
  WORKER_EXIT: define('VOYANDZ_ERR_WORKER_EXIT', (id: string, how: string) => `worker ${id} exited (${how}); restarting it`),
  THREADS_UNAVAILABLE: define(
    'VOYANDZ_ERR_THREADS_UNAVAILABLE',
    (reason: string) => `worker_mode: thread needs the native addon (dupCloexec and dupCloexecTo to hand clients to threads, reapChild to wait for their programs), and it is not available (${reason}); running worker processes instead`,
  ),
  // Access control and limits (src/access/): every refusal the primary answers before a hand-off.
  IP_DENIED: define('VOYANDZ_ERR_IP_DENIED', (address: string, route: string) => `${address} is not allowed to reach ${route} (access allow/deny lists)`, 403),
  AUTH_REQUIRED: define(
    'VOYANDZ_ERR_AUTH_REQUIRED',
    (route: string, accepted: string) => `${route} needs ${accepted}`,
    401,
  ),
  AUTH_FAILED: define('VOYANDZ_ERR_AUTH_FAILED', (route: string) => `wrong user name or password for ${route}`, 401),
  AUTH_RATE_LIMITED: define(
    'VOYANDZ_ERR_AUTH_RATE_LIMITED',
    (address: string, seconds: string) => `too many failed logins from ${address}; retry in ${seconds} s`,
    429,
  ),
  AUTH_BUSY: define('VOYANDZ_ERR_AUTH_BUSY', (seconds: string) => `too many password checks waiting; retry in ${seconds} s`, 503),
  SIGNATURE_INVALID: define(
    'VOYANDZ_ERR_SIGNATURE_INVALID',
    (route: string, why: string) => `${route} needs a signed URL (?expires=...&sig=...): ${why}`,
    403,
  ),
  SIGNATURE_EXPIRED: define('VOYANDZ_ERR_SIGNATURE_EXPIRED', (route: string, when: string) => `the signed URL of ${route} expired at ${when}`, 403),
  MAX_CLIENTS: define(
    'VOYANDZ_ERR_MAX_CLIENTS',
    (scope: string, limit: string) => `${scope} already serves max_clients (${limit}) clients; retry later`,
    503,
  ),
  MAX_BANDWIDTH: define(
    'VOYANDZ_ERR_MAX_BANDWIDTH',
    (stream: string, limit: string) => `one more client of ${stream} would exceed max_bandwidth (${limit} bit/s); retry later`,
    503,
  ),
  DESCRIPTORS_LOW: define(
    'VOYANDZ_ERR_DESCRIPTORS_LOW',
    (limit: string) => `the server is near its limit of ${limit} open files; retry later (an operator raises it: ulimit -n, systemd LimitNOFILE)`,
    503,
  ),
  MAX_CLIENTS_PER_IP: define(
    'VOYANDZ_ERR_MAX_CLIENTS_PER_IP',
    (address: string, limit: string) => `${address} already has max_clients_per_ip (${limit}) stream clients`,
    429,
  ),
  HEAD_TIMEOUT: define('VOYANDZ_ERR_HEAD_TIMEOUT', (seconds: string) => `request head not complete within head_timeout (${seconds} s)`, 408),
  PENDING_HEADS: define(
    'VOYANDZ_ERR_PENDING_HEADS',
    (limit: string, remote: string) => `max_pending_heads (${limit}) connections are waiting for a request head; closed ${remote} at once`,
  ),
  ACCEPT_FAILED: define(
    'VOYANDZ_ERR_ACCEPT_FAILED',
    (code: string, ms: string) => `cannot accept connections (${code}: out of file descriptors); accepting paused for ${ms} ms`,
  ),
  HANDOFF_LOST: define(
    'VOYANDZ_ERR_HANDOFF_LOST',
    (worker: string) => `a client handed to worker ${worker} was not acknowledged within 10 s of being sent (out of file descriptors, or stalled); it is closed and its slot freed`,
  ),
  ACCESS_FILE: define('VOYANDZ_ERR_ACCESS_FILE', (file: string, reason: string) => `${file}: ${reason}`),
  INTERNAL: define('VOYANDZ_ERR_INTERNAL', (what: string) => `internal error: ${what}`, 500),
} as const;

export type ErrorKey = keyof typeof ERRORS;
/** The message arguments of error `K`, checked by the compiler at every use. */
export type ErrorArgs<K extends ErrorKey> = Parameters<(typeof ERRORS)[K]['message']>;

/** `CODE: message`, the one way an error is written for a person (HTTP bodies, stderr). */
export function errorText<K extends ErrorKey>(key: K, ...args: ErrorArgs<K>): string {
  const def = ERRORS[key] as ErrorDefinition<ErrorArgs<K>>;
  return `${def.code}: ${def.message(...args)}`;
}

export class VoyandzError<K extends ErrorKey = ErrorKey> extends Error {
  readonly key: K;
  readonly code: string;
  readonly status: number | undefined;

  constructor(key: K, ...args: ErrorArgs<K>) {
    const def = ERRORS[key] as ErrorDefinition<ErrorArgs<K>>;
    super(def.message(...args));
    this.name = 'VoyandzError';
    this.key = key;
    this.code = def.code;
    this.status = def.status;
  }
}
