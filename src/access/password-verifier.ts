/**
 * Checks user:password against bcrypt hashes without ever stalling the
 * primary: the comparison runs on a piscina thread; a verified credential is
 * cached (credential-cache.ts), so a reconnecting viewer costs a hash lookup;
 * concurrent checks of one credential share one comparison; failures are
 * rate-limited per client address (failure-limiter.ts); and when too many
 * checks are queued, new ones are refused at once instead of piling up.
 */
import { Piscina } from 'piscina';
import { CredentialCache, credentialKey } from './credential-cache.js';
import { FailureLimiter } from './failure-limiter.js';

/** Named by URL, never imported: src/ does not depend on workers/. */
const TASK = new URL('../../workers/bcrypt-task.js', import.meta.url).href;

/**
 * Compared against for unknown users, so that "no such user" takes as long
 * as "wrong password" and does not reveal which names exist. Its password is
 * random and was thrown away.
 */
const DUMMY_HASH = '$2b$10$Fj2CfrxdPVEVrf8qNDCQY.PTWZL4I41/N.6pLp2OVeBVOYAyYJWDC';

const CACHE_ENTRIES = 10_000;
const CACHE_TTL_MS = 10 * 60_000;
const FAILURE_BURST = 10;
const FAILURE_REFILL_MS = 6_000;
const FAILURE_ADDRESSES = 10_000;
/** Queued comparisons beyond this are answered 503 at once: ~100 ms each, that is seconds of backlog. */
const MAX_QUEUED = 64;

export type Verification = { result: 'ok' | 'wrong' } | { result: 'rate-limited' | 'busy'; retryAfterSeconds: number };

export class PasswordVerifier {
  private pool: Piscina | null = null;
  private readonly cache = new CredentialCache(CACHE_ENTRIES, CACHE_TTL_MS);
  private readonly failures = new FailureLimiter(FAILURE_BURST, FAILURE_REFILL_MS, FAILURE_ADDRESSES);
  private readonly inFlight = new Map<string, Promise<boolean>>();

  /**
   * `storedHash` undefined: no such user. Answers synchronously when it can
   * (cached, rate-limited, busy): most requests never wait for a thread.
   */
  verify(address: string, user: string, password: string, storedHash: string | undefined): Verification | Promise<Verification> {
    const hash = storedHash ?? DUMMY_HASH;
    const key = credentialKey(hash, user, password);
    if (storedHash !== undefined && this.cache.has(key)) return { result: 'ok' };
    const blocked = this.failures.blockedFor(address);
    if (blocked > 0) return { result: 'rate-limited', retryAfterSeconds: Math.ceil(blocked / 1000) };
    let check = this.inFlight.get(key);
    if (!check) {
      const pool = this.threads();
      if (pool.queueSize >= MAX_QUEUED) return { result: 'busy', retryAfterSeconds: 1 };
      check = (pool.run({ password, hash }) as Promise<boolean>).then(
        (same) => same && storedHash !== undefined,
        () => false,
      );
      this.inFlight.set(key, check);
      void check.then((ok) => {
        this.inFlight.delete(key);
        if (ok) this.cache.add(key);
      });
    }
    return check.then((ok): Verification => {
      if (ok) return { result: 'ok' };
      this.failures.fail(address);
      return { result: 'wrong' };
    });
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.destroy();
  }

  private threads(): Piscina {
    // One thread: bcrypt is rare once the cache is warm, and the cores belong to the workers.
    this.pool ??= new Piscina({ filename: TASK, minThreads: 0, maxThreads: 1, idleTimeout: 30_000 });
    return this.pool;
  }
}
