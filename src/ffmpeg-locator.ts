import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';

export interface FfmpegLocation {
  path: string;
  source: 'PATH' | 'bundled';
}

function findOnPath(program: string, pathEnv: string | undefined): string | undefined {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

function findBundled(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const installer = require('@ffmpeg-installer/ffmpeg') as { path: string };
    accessSync(installer.path, constants.X_OK);
    return installer.path;
  } catch {
    return undefined;
  }
}

/**
 * Commands name `ffmpeg` and are run without a shell, so PATH decides which
 * binary runs. When the machine has none, the optional npm-bundled ffmpeg is
 * put on PATH for every program we start, so the demo works anywhere.
 */
export function locateFfmpeg(env: NodeJS.ProcessEnv = process.env): FfmpegLocation | undefined {
  const onPath = findOnPath('ffmpeg', env.PATH);
  if (onPath) return { path: onPath, source: 'PATH' };
  const bundled = findBundled();
  if (bundled) {
    env.PATH = `${dirname(bundled)}${delimiter}${env.PATH ?? ''}`;
    return { path: bundled, source: 'bundled' };
  }
  return undefined;
}
