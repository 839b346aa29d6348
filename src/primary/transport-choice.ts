import type { Logger } from 'pino';
import { ERRORS } from '../errors.js';
import { chooseThreadNatives } from './thread-natives.js';
import { processTransport, threadTransport, type WorkerMode, type WorkerTransport } from './worker-link.js';

/** The transport worker_mode asks for; thread mode without the addon is impossible, and says so. */
export function chooseTransport(mode: WorkerMode, log: Logger, env: NodeJS.ProcessEnv = process.env): WorkerTransport {
  if (mode === 'process') return processTransport();
  const choice = chooseThreadNatives(env);
  if (choice.natives) return threadTransport(choice.natives);
  log.warn({ code: ERRORS.THREADS_UNAVAILABLE.code, reason: choice.why }, ERRORS.THREADS_UNAVAILABLE.message(choice.why));
  return processTransport();
}
