/**
 * Thumbnails of the streams' latest keyframes, made only when asked for (the
 * console is open) and at most once per REFRESH_MS per stream: every viewer
 * of the console shares one ffmpeg run.
 */
export const THUMBNAIL_REFRESH_MS = 5000;

interface Entry {
  at: number;
  jpeg: Promise<Buffer | null>;
}

export class Thumbnails {
  private readonly cache = new Map<string, Entry>();

  constructor(private readonly make: (stream: string) => Promise<Buffer | null>) {}

  get(stream: string, now = Date.now()): Promise<Buffer | null> {
    const entry = this.cache.get(stream);
    if (entry && now - entry.at < THUMBNAIL_REFRESH_MS) return entry.jpeg;
    const jpeg = this.make(stream).catch(() => null);
    this.cache.set(stream, { at: now, jpeg });
    return jpeg;
  }

  /** Forgets streams no longer configured. */
  keepOnly(names: ReadonlySet<string>): void {
    for (const name of this.cache.keys()) if (!names.has(name)) this.cache.delete(name);
  }
}
