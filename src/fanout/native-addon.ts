/**
 * Finding native/fanout_writer.c's addon: where the install built it
 * (build/Release), then among the prebuilt binaries shipped in the package
 * (prebuilds/PLATFORM-ARCH). The fan-out writer and the thread mode's
 * descriptor copy each take what they need from the first one that loads.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** dist/src/fanout → the package root. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ADDON = 'fanout_writer.node';

/** Where the addon may be, best first. */
export function addonCandidates(): string[] {
  return [`${ROOT}build/Release/${ADDON}`, `${ROOT}prebuilds/${process.platform}-${process.arch}/${ADDON}`];
}

/**
 * The first candidate that loads and that `take` accepts (it returns what
 * it wants of the module, or why it cannot use it); else a reason per
 * candidate, for the log.
 */
export function firstAddon<T>(paths: readonly string[], take: (addon: unknown, path: string) => T | { unusable: string }): { value: T } | { why: string } {
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) {
      failures.push(`${path}: not there`);
      continue;
    }
    try {
      const taken = take(require(path), path);
      if (typeof taken === 'object' && taken !== null && 'unusable' in taken) failures.push(`${path}: ${taken.unusable}`);
      else return { value: taken };
    } catch (error) {
      failures.push(`${path}: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`);
    }
  }
  return { why: failures.join('; ') };
}
