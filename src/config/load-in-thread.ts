import { Piscina } from 'piscina';
import type { ConfigLoadRequest, ConfigLoadResult } from './load-result.js';

/** Named by URL, never imported: src/ does not depend on workers/. */
const TASK = new URL('../../workers/config-task.js', import.meta.url).href;

let pool: Piscina | null = null;

/** Config loading is CPU work (YAML, schema, templating): run it on a thread. */
export async function loadConfigInThread(request: ConfigLoadRequest): Promise<ConfigLoadResult> {
  pool ??= new Piscina({ filename: TASK, minThreads: 0, maxThreads: 1, idleTimeout: 5000 });
  return (await pool.run(request)) as ConfigLoadResult;
}

export async function closeConfigThreads(): Promise<void> {
  const current = pool;
  pool = null;
  await current?.destroy();
}
