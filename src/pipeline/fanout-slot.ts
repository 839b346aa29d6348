import type { Logger } from 'pino';
import { Fanout, type FanoutCounters, type LagPolicy } from '../fanout/fanout.js';
import type { JoinPolicy } from '../fanout/join/policy.js';
import type { RunOutcome } from './tap.js';

export interface FanoutSlotOptions {
  /** The Fanout's name: `feed:cam1`, `stream:ts`, `remote:ts`. */
  name: string;
  /** For people: `feed cam1`, `stream ts`. */
  title: string;
  /** What a drop log line names, e.g. `{ stream: 'ts' }`. */
  labels: Record<string, string>;
  maxLagMs: number;
  /** Long-lived: owned by the worker runtime, shared by every Fanout of this slot. */
  counters: FanoutCounters;
  /** A fresh policy per run: a new run's join state starts from nothing. */
  makePolicy: () => JoinPolicy;
  log: Logger;
}

/**
 * The Fanout of a feed or stream for the current run of its producer (a
 * program, or a peer link to the worker that runs it). Written once for both:
 *
 * - restart(): the producer started over while readers stay connected; they
 *   keep their place and new joiners wait for the new run's join point.
 * - renew(): the run is over (stopped, or dead for good); readers are ended
 *   and the next run starts with an empty ring and a fresh join state, so no
 *   viewer ever receives a byte of an earlier run. Counters carry on.
 */
export class FanoutSlot {
  private current: Fanout;
  /** The current run produced a byte; cleared when a new run begins. */
  private flowing = false;
  private waiters: ((outcome: RunOutcome) => void)[] = [];

  constructor(private readonly options: FanoutSlotOptions) {
    this.current = this.make();
  }

  get fanout(): Fanout {
    return this.current;
  }

  /** See Tap.whenFlowing. */
  whenFlowing(): Promise<RunOutcome> {
    if (this.flowing) return Promise.resolve({ kind: 'flowing' });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The producer's first byte of this run is about to be pushed. */
  started(): void {
    if (this.flowing) return;
    this.flowing = true;
    this.settle({ kind: 'flowing' });
  }

  /** The run ended before its first byte: whoever waits for it is told why. */
  failed(how: string, stderr: string): void {
    if (!this.flowing) this.settle({ kind: 'failed', how, stderr });
  }

  restart(): void {
    this.current.restart();
    this.flowing = false;
  }

  renew(): void {
    this.current.end();
    this.current = this.make();
    this.flowing = false;
    // Nobody will produce for whoever still waits on the run that ended.
    this.settle({ kind: 'failed', how: 'was stopped', stderr: '' });
  }

  private settle(outcome: RunOutcome): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve(outcome);
  }

  private make(): Fanout {
    const { name, title, labels, maxLagMs, counters, makePolicy, log } = this.options;
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
      joinPolicy: makePolicy(),
      onDrop: (sink, what) => log.warn({ ...labels, reader: sink.info.kind, remote: sink.info.remote, lag: what }, said[what]),
    });
  }
}
