/**
 * The labels of one process's default metrics (process_*, nodejs_*): every
 * process keeps its own series in the merged /metrics, instead of a sum
 * that means nothing (file descriptor limits, start times, heap sizes).
 * `worker` is null for the primary.
 */
export function processLabels(worker: number | null): Record<string, string> {
  return worker === null ? { role: 'primary', worker: '' } : { role: 'worker', worker: String(worker) };
}
