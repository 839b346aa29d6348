import { readFileSync } from 'node:fs';

// package.json is the one place the version is written; read it once at load.
const pkg = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
) as { name: string; version: string };

export const PROGRAM_NAME = pkg.name;
export const VERSION = pkg.version;
