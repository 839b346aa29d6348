/**
 * Every error voyandz reports to a user, in one place (like fastify's
 * lib/errors.js): a stable code to search for, a message template and, for
 * errors answered over HTTP, a status.
 */

export interface ErrorDefinition {
  code: string;
  status?: number;
  message: (...args: string[]) => string;
}

function define<const C extends string>(
  code: C,
  message: (...args: string[]) => string,
  status?: number,
): ErrorDefinition & { code: C } {
  return { code, message, status };
}

export const ERRORS = {
  CONFIG_INVALID: define('VOYANDZ_ERR_CONFIG_INVALID', (file, count) => `${file}: ${count} error(s) in config`),
  CONFIG_READ: define('VOYANDZ_ERR_CONFIG_READ', (file, reason) => `${file}: cannot read config: ${reason}`),
  LISTEN: define('VOYANDZ_ERR_LISTEN', (addr, reason) => `cannot listen on ${addr}: ${reason}`),
  NO_FFMPEG: define('VOYANDZ_ERR_NO_FFMPEG', () => 'no ffmpeg on PATH and no bundled ffmpeg; install ffmpeg (e.g. apt-get install ffmpeg)'),
  NOT_FOUND: define('VOYANDZ_ERR_NOT_FOUND', (path) => `no page or stream at ${path}`, 404),
  PAGE_DISABLED: define('VOYANDZ_ERR_PAGE_DISABLED', (page) => `the ${page} page is disabled in the config (pages.${page})`, 403),
  HEADER_TOO_LARGE: define('VOYANDZ_ERR_HEADER_TOO_LARGE', (limit) => `request head larger than ${limit} bytes`, 431),
  BAD_REQUEST: define('VOYANDZ_ERR_BAD_REQUEST', (reason) => `bad request: ${reason}`, 400),
  METHOD_NOT_ALLOWED: define('VOYANDZ_ERR_METHOD_NOT_ALLOWED', (method) => `method ${method} not allowed; use GET or HEAD`, 405),
  STREAM_UNAVAILABLE: define('VOYANDZ_ERR_STREAM_UNAVAILABLE', (name, reason) => `stream ${name} is unavailable: ${reason}`, 503),
  SHOT_FAILED: define('VOYANDZ_ERR_SHOT_FAILED', (name, code) => `shot ${name} failed: program exited with ${code}`, 500),
  SHOT_TIMEOUT: define('VOYANDZ_ERR_SHOT_TIMEOUT', (name, seconds) => `shot ${name} took longer than ${seconds} s; program killed`, 504),
  PROGRAM_SPAWN: define('VOYANDZ_ERR_PROGRAM_SPAWN', (name, reason) => `cannot start program of ${name}: ${reason}`),
  PROGRAM_EXIT: define('VOYANDZ_ERR_PROGRAM_EXIT', (name, how) => `program of ${name} ${how}`),
  PROGRAM_LOG: define('VOYANDZ_ERR_PROGRAM_LOG', (path, reason) => `cannot write program stderr to ${path}: ${reason}; further errors for this file are not logged`),
  WORKER_EXIT: define('VOYANDZ_ERR_WORKER_EXIT', (id, how) => `worker ${id} ${how}; restarting it`),
} as const;

export type ErrorKey = keyof typeof ERRORS;

export class VoyandzError extends Error {
  readonly code: string;
  readonly status: number | undefined;

  constructor(key: ErrorKey, ...args: string[]) {
    const def = ERRORS[key];
    super(def.message(...args));
    this.name = 'VoyandzError';
    this.code = def.code;
    this.status = def.status;
  }
}
