/**
 * Credentials that passed a bcrypt check, remembered for a while so that a
 * thousand viewers reconnecting with one password cost one check. Entries
 * are keyed by SHA-256 of (stored hash, user, password): the password itself
 * is never kept, and a changed htpasswd entry (SIGHUP) no longer matches.
 * Bounded: the oldest entry goes first (Map keeps insertion order).
 */
import { createHash } from 'node:crypto';

export function credentialKey(storedHash: string, user: string, password: string): string {
  return createHash('sha256').update(storedHash).update('\0').update(user).update('\0').update(password).digest('base64');
}

export class CredentialCache {
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  has(key: string): boolean {
    const expires = this.entries.get(key);
    if (expires === undefined) return false;
    if (expires > this.now()) return true;
    this.entries.delete(key);
    return false;
  }

  add(key: string): void {
    this.entries.delete(key);
    this.entries.set(key, this.now() + this.ttlMs);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
