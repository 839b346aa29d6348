import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A program on PATH or in the sbin directories Debian installs daemons to; null when there is none. */
export function findExecutable(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}
