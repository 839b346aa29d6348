/**
 * Whether a program that exited while it was needed is started again.
 * `resurrect:` decides for the program itself; but a program whose input
 * ended for good (the feed it reads ended and will not come back) has
 * nothing left to read, so it is never restarted: its readers' responses
 * end instead of staying open with no data.
 */
import type { ResurrectMode } from '../config/types.js';
import type { ProgramExit } from './program.js';

export type RestartDecision = { restart: true } | { restart: false; why: string; failed: boolean };

export function restartDecision(mode: ResurrectMode, exit: ProgramExit, inputEnded: boolean): RestartDecision {
  const failed = exit.error !== undefined || exit.code !== 0;
  if (inputEnded) return { restart: false, why: 'the feed it reads ended', failed };
  if (mode === 'never') return { restart: false, why: 'resurrect: never', failed };
  if (mode === 'on-failure' && !failed) return { restart: false, why: 'resurrect: on-failure, and it ended with code 0', failed };
  return { restart: true };
}
