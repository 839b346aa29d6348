import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let mpegtsJs: Promise<Buffer> | null = null;

/** The mpegts.js browser bundle from node_modules, read once. */
export function readMpegtsJs(): Promise<Buffer> {
  mpegtsJs ??= readFile(require.resolve('mpegts.js'));
  return mpegtsJs;
}
