import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'voyandz-';
const OWNER_FILE = 'primary.pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The folder of this server's worker sockets, named with its owner's pid.
 * Folders of earlier primaries that died without cleaning up (kill -9; their
 * workers normally remove it when they lose the primary) are removed first.
 */
export function createRuntimeDir(): string {
  const base = tmpdir();
  for (const entry of readdirSync(base)) {
    if (!entry.startsWith(PREFIX)) continue;
    const dir = join(base, entry);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue; // not one of ours, or not finished being made
    }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) rmSync(dir, { recursive: true, force: true });
  }
  const dir = mkdtempSync(join(base, PREFIX));
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  return dir;
}
