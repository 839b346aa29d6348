import type { Logger } from 'pino';
import { ERRORS } from '../errors.js';
import { Fanout, newFanoutCounters, type FanoutCounters, type LagPolicy } from '../fanout/fanout.js';
import type { JoinPolicy } from '../fanout/join/policy.js';
import { Splice, SPLICE_REASONS, SPLICE_WHY, type SpliceReason } from './splice.js';
import type { RunOutcome } from './tap.js';

/** A slot's totals: the fan-out's, and the readers closed because a new run could not follow the old one (see splice.ts). */
export interface SlotCounters extends FanoutCounters {
  closedOnRestart: Record<SpliceReason, number>;
}

export function newSlotCounters(): SlotCounters {
  return { ...newFanoutCounters(), closedOnRestart: Object.fromEntries(SPLICE_REASONS.map((r) => [r, 0])) as Record<SpliceReason, number> };
}

/** A new run's bytes held while its header is not known yet: no more than this (then its readers are closed). */
const MAX_SPLICE_BYTES = 16 * 1024 * 1024;

export interface FanoutSlotOptions {
  /** The Fanout's name: `feed:cam1`, `stream:ts`, `remote:ts`. */
  name: string;
  /** For people: `feed cam1`, `stream ts`. */
  title: string;
  /** What a drop log line names, e.g. `{ stream: 'ts' }`. */
  labels: Record<string, string>;
  maxLagMs: number;
  /** Long-lived: owned by the worker runtime, shared by every Fanout of this slot. */
  counters: SlotCounters;
  /** A fresh policy per run: a new run's join state starts from nothing. */
  makePolicy: () => JoinPolicy;
  log: Logger;
}

/**
 * The Fanout of a feed or stream for the current run of its producer (a
 * program, a pull, or a peer link to the worker that runs it). Written once
 * for all of them; producers push their bytes here, not to the Fanout:
 *
 * - restart(): the producer started over while readers stay connected; they
 *   keep their place and new joiners wait for the new run's join point. A
 *   container whose header comes once is spliced (see splice.ts): readers
 *   never get a second header; they keep the stream when the new header is
 *   the same, else they are closed (counted) and their players reconnect.
 * - renew(): the run is over (stopped, or dead for good); readers are ended
 *   and the next run starts with an empty ring and a fresh join state, so no
 *   viewer ever receives a byte of an earlier run. Counters carry on.
 */
export class FanoutSlot {
  private current: Fanout;
  /** The join policy of `current`, asked where its run stands when the producer starts over. */
  private policy: JoinPolicy;
  /** The current run produced a byte; cleared when a new run begins. */
  private flowing = false;
  private waiters: ((outcome: RunOutcome) => void)[] = [];
  /** While a new run's header is not known: its bytes, held from the readers. */
  private splice: Splice | null = null;
  private spliceTimer: NodeJS.Timeout | null = null;
  /** The producer's first byte of the run came while splicing: readers waiting for it are told once decided. */
  private startedWhileSplicing = false;
  /** Fanouts ended only to give way to a new run their readers could not follow. */
  private readonly superseded = new WeakSet<Fanout>();

  constructor(private readonly options: FanoutSlotOptions) {
    this.policy = options.makePolicy();
    this.current = this.make(this.policy);
  }

  get fanout(): Fanout {
    return this.current;
  }

  /** `fanout` was ended only because a new run followed that its readers could not (they may read the new one). */
  gaveWay(fanout: Fanout): boolean {
    return this.superseded.has(fanout);
  }

  /** See Tap.whenFlowing. */
  whenFlowing(): Promise<RunOutcome> {
    if (this.flowing) return Promise.resolve({ kind: 'flowing' });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The producer's first byte of this run is about to be pushed. */
  started(): void {
    if (this.splice !== null) {
      this.startedWhileSplicing = true;
      return;
    }
    if (this.flowing) return;
    this.flowing = true;
    this.settle({ kind: 'flowing' });
  }

  /** The producer's bytes; takes ownership of `chunk`. */
  push(chunk: Buffer): void {
    const splice = this.splice;
    if (splice === null) {
      this.current.push(chunk);
      return;
    }
    if (this.spliceTimer === null) {
      // A new run that shows no join point within the lag limit of its first byte will not keep anyone waiting longer.
      this.spliceTimer = setTimeout(() => this.closeReaders('no-join-point', splice.bytesFrom()), this.options.maxLagMs);
      this.spliceTimer.unref();
    }
    const verdict = splice.hold(chunk);
    if (verdict.kind === 'keep') this.keep(splice, verdict.from);
    else if (verdict.kind === 'close') this.closeReaders(verdict.reason, splice.bytesFrom());
  }

  /** The run ended before its first byte: whoever waits for it is told why. */
  failed(how: string, stderr: string): void {
    if (!this.flowing) this.settle({ kind: 'failed', how, stderr });
  }

  restart(): void {
    this.flowing = false;
    if (this.splice !== null) {
      // The new run died before its header was known: the readers still stand where the run before it left them.
      this.startSplice(this.splice.before);
      return;
    }
    const before = this.policy.runState?.();
    if (before?.kind !== 'header-once' || this.current.sinkCount === 0) {
      this.current.restart();
      return;
    }
    this.startSplice(before);
  }

  renew(): void {
    this.endSplice();
    this.startedWhileSplicing = false;
    this.current.end();
    this.policy = this.options.makePolicy();
    this.current = this.make(this.policy);
    this.flowing = false;
    // Nobody will produce for whoever still waits on the run that ended.
    this.settle({ kind: 'failed', how: 'was stopped', stderr: '' });
  }

  private startSplice(before: Splice['before']): void {
    this.endSplice();
    this.startedWhileSplicing = false;
    const splice = new Splice(before, this.options.makePolicy(), MAX_SPLICE_BYTES);
    if (splice.hopeless) {
      this.closeReaders('cut-mid-unit', []);
      return;
    }
    this.splice = splice;
  }

  /** Same header, clean cut: the run continues for the same readers from its first join point, under the same join state. */
  private keep(splice: Splice, from: number): void {
    this.endSplice();
    for (const chunk of splice.bytesFrom(from)) this.current.push(chunk);
    this.resume();
  }

  /** The readers cannot follow the new run: they are ended (their players reconnect) and the run starts in a fresh Fanout. */
  private closeReaders(reason: SpliceReason, held: Buffer[]): void {
    this.endSplice();
    const closed = this.current.sinkCount;
    this.options.counters.closedOnRestart[reason] += closed;
    const { labels, title, log } = this.options;
    log.warn({ code: ERRORS.RUN_HEADER_CHANGED.code, ...labels, reason, closed }, ERRORS.RUN_HEADER_CHANGED.message(title, String(closed), SPLICE_WHY[reason]));
    this.superseded.add(this.current);
    this.current.end();
    this.policy = this.options.makePolicy();
    this.current = this.make(this.policy);
    for (const chunk of held) this.current.push(chunk);
    this.resume();
  }

  /** Readers that waited for the new run's first byte get it now. */
  private resume(): void {
    if (!this.startedWhileSplicing) return;
    this.startedWhileSplicing = false;
    this.started();
  }

  private endSplice(): void {
    if (this.spliceTimer !== null) clearTimeout(this.spliceTimer);
    this.spliceTimer = null;
    this.splice = null;
  }

  private settle(outcome: RunOutcome): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve(outcome);
  }

  private make(joinPolicy: JoinPolicy): Fanout {
    const { name, title, labels, maxLagMs, counters, log } = this.options;
    const behind = `more than ${maxLagMs / 1000} s behind`;
    const said: Record<LagPolicy, string> = {
      drop: `reader of ${title} dropped: ${behind}`,
      skip: `reader of ${title} skipped ahead to the latest join point: ${behind}`,
      resync: `peer link of ${title} closed to link again at a join point: ${behind}`,
    };
    return new Fanout({
      name,
      maxLagMs,
      counters,
      joinPolicy,
      onDrop: (sink, what) => log.warn({ ...labels, reader: sink.info.kind, remote: sink.info.remote, lag: what }, said[what]),
    });
  }
}
