import type { Logger } from 'pino';
import { ERRORS } from '../errors.js';
import { chooseDup } from './descriptor-dup.js';
import { processTransport, threadTransport, type WorkerMode, type WorkerTransport } from './worker-link.js';

/** The transport worker_mode asks for; thread mode without the addon's dup is impossible, and says so. */
export function chooseTransport(mode: WorkerMode, log: Logger, env: NodeJS.ProcessEnv = process.env): WorkerTransport {
  if (mode === 'process') return processTransport();
  const choice = chooseDup(env);
  if (choice.dup) return threadTransport(choice.dup);
  log.warn({ code: ERRORS.THREADS_UNAVAILABLE.code, reason: choice.why }, ERRORS.THREADS_UNAVAILABLE.message(choice.why));
  return processTransport();
}
