import { IN_BAND, type JoinPolicy, type RunState } from '../fanout/join/policy.js';

/**
 * A producer started over (a program restarted, a pull reconnected, a peer
 * link relinked) while readers of a container whose header comes once
 * (WebM, fragmented MP4, FLV) stay connected. The new run starts with its
 * header again, and a player given a second header mid-stream breaks. So the
 * new run's first bytes are held and parsed (by a probe: a fresh policy of
 * the stream's kind) until its header and first join point are known:
 *
 * - the same header, byte for byte, after a run that ended on a unit
 *   boundary: the readers keep their connection and get the new run from its
 *   first join point on, its header dropped (`keep`);
 * - otherwise the readers are closed, so that their players reconnect and
 *   start cleanly with the new header (`close`, with the reason counted).
 *
 * In-band containers (MPEG-TS, mpjpeg, MP3, ADTS, raw) need none of this:
 * the new run simply follows (see FanoutSlot.restart).
 */

export type SpliceReason = 'header-changed' | 'cut-mid-unit' | 'container-changed' | 'no-join-point';

export const SPLICE_REASONS: readonly SpliceReason[] = ['header-changed', 'cut-mid-unit', 'container-changed', 'no-join-point'];

export type SpliceVerdict =
  | { kind: 'wait' }
  /** Push the held bytes from run offset `from` (a join point) on, to the same readers. */
  | { kind: 'keep'; from: number }
  | { kind: 'close'; reason: SpliceReason };

const WAIT: SpliceVerdict = { kind: 'wait' };

export const SPLICE_WHY: Readonly<Record<SpliceReason, string>> = {
  'header-changed': 'with another container header',
  'cut-mid-unit': 'after its last run was cut inside a cluster, fragment or tag',
  'container-changed': 'as another container (or as data that does not parse)',
  'no-join-point': 'without a join point in time',
};

export class Splice {
  private held: Buffer[] = [];
  private heldBytes = 0;

  /**
   * `before`: the run the readers got (its header, where it ended).
   * `probe`: a fresh policy for the new run. Past `maxBytes` held without a
   * verdict, the readers are closed.
   */
  constructor(
    readonly before: RunState,
    private readonly probe: JoinPolicy,
    private readonly maxBytes: number,
  ) {}

  /** A run cut inside a unit can never be continued: known before any new byte. */
  get hopeless(): boolean {
    return !this.before.atBoundary;
  }

  /** The new run's next bytes; takes ownership of `chunk`. */
  hold(chunk: Buffer): SpliceVerdict {
    this.probe.observe(chunk, this.heldBytes);
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    return this.verdict(false);
  }

  /** `final`: no more waiting (time is up). */
  verdict(final: boolean): SpliceVerdict {
    if (this.hopeless) return { kind: 'close', reason: 'cut-mid-unit' };
    const now = this.probe.runState?.() ?? IN_BAND;
    if (now.kind === 'in-band') return { kind: 'close', reason: 'container-changed' };
    if (now.kind === 'header-once' && now.lastJoin >= 0) {
      const same = this.before.header !== null && now.header !== null && now.header.equals(this.before.header);
      return same ? { kind: 'keep', from: now.lastJoin } : { kind: 'close', reason: 'header-changed' };
    }
    return final || this.heldBytes >= this.maxBytes ? { kind: 'close', reason: 'no-join-point' } : WAIT;
  }

  /** What was held, from run offset `from` on (the start of a chunk is cut, never copied). */
  bytesFrom(from = 0): Buffer[] {
    const out: Buffer[] = [];
    let at = 0;
    for (const chunk of this.held) {
      const end = at + chunk.length;
      if (end > from) out.push(from > at ? chunk.subarray(from - at) : chunk);
      at = end;
    }
    return out;
  }
}
