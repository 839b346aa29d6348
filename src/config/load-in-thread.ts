import { Piscina } from 'piscina';
import type { ConfigTaskResult } from '../../workers/config-task.js';

const TASK = new URL('../../workers/config-task.js', import.meta.url).href;

let pool: Piscina | null = null;

/** Config loading is CPU work (YAML, schema, templating): run it on a thread. */
export async function loadConfigInThread(file: string): Promise<ConfigTaskResult> {
  pool ??= new Piscina({ filename: TASK, minThreads: 0, maxThreads: 1, idleTimeout: 5000 });
  return (await pool.run(file)) as ConfigTaskResult;
}

export async function closeConfigThreads(): Promise<void> {
  const current = pool;
  pool = null;
  await current?.destroy();
}
