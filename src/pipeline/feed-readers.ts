import type { Socket } from 'node:net';
import type { StreamInput } from '../config/types.js';
import type { Fanout, FanoutSink } from '../fanout/fanout.js';
import type { Producer } from './producer.js';
import type { Tap } from './tap.js';

/**
 * The feeds one program reads: one on stdin (`feed:`) and/or one per input
 * pipe, fd 3, 4, … (`feeds:`). They are held (acquire) as long as the reader
 * needs them — across restarts of its program, for a Source — and plugged
 * into each program started (attach). Each pipe is a reader of its feed's
 * fan-out like any client, so a program that stops reading one pipe is
 * dropped from that feed for lag instead of stalling it for everyone.
 */
export class FeedReaders {
  /** `fanout`: the one plugged into, which a Source replaces after its program ended for good. */
  private sinks: { tap: Tap; fanout: Fanout; sink: FanoutSink }[] = [];
  private held = false;

  constructor(
    private readonly stdinFeed: Tap | undefined,
    private readonly pipeFeeds: readonly Tap[],
  ) {}

  /** How the program's stdio must be set up for these feeds. */
  get stdio(): { stdin: 'pipe' | 'ignore'; extraInputs: number } {
    return { stdin: this.stdinFeed ? 'pipe' : 'ignore', extraInputs: this.pipeFeeds.length };
  }

  acquire(): void {
    if (this.held) return;
    this.held = true;
    this.stdinFeed?.acquire();
    for (const tap of this.pipeFeeds) tap.acquire();
  }

  /** Starts copying each feed into the program's stdin or pipe (a pull reads none). */
  attach(program: Pick<Producer, 'stdin' | 'inputs'>): void {
    this.detach();
    if (this.stdinFeed && program.stdin) this.plug(this.stdinFeed, program.stdin);
    this.pipeFeeds.forEach((tap, index) => {
      const pipe = program.inputs.at(index);
      if (pipe) this.plug(tap, pipe);
    });
  }

  /**
   * A feed the program reads ended for good (not a restart): it will get no
   * more input. A feed whose new run its program could not follow (another
   * container header: see FanoutSlot) ended the program's input too, but
   * the program, restarted, reads the new run.
   */
  get inputEnded(): boolean {
    return this.sinks.some(({ tap, fanout }) => fanout.hasEnded && !tap.gaveWay(fanout));
  }

  detach(): void {
    for (const { fanout, sink } of this.sinks) fanout.removeSink(sink);
    this.sinks = [];
  }

  release(): void {
    this.detach();
    if (!this.held) return;
    this.held = false;
    this.stdinFeed?.release();
    for (const tap of this.pipeFeeds) tap.release();
  }

  private plug(tap: Tap, into: Socket): void {
    const fanout = tap.fanout;
    this.sinks.push({ tap, fanout, sink: fanout.addSink(into, { kind: 'program' }) });
  }
}

/**
 * The readers of a program's feeds, looked up by name; the name of the first
 * feed not found, when one is missing (the worker does not run it).
 */
export function feedReadersFor(
  def: { feed?: string | undefined; inputs?: readonly StreamInput[] | undefined },
  lookup: (feed: string) => Tap | undefined,
): FeedReaders | { missing: string } {
  const stdin = def.feed === undefined ? undefined : lookup(def.feed);
  if (def.feed !== undefined && stdin === undefined) return { missing: def.feed };
  const pipes: Tap[] = [];
  for (const input of def.inputs ?? []) {
    const tap = lookup(input.feed);
    if (tap === undefined) return { missing: input.feed };
    pipes.push(tap);
  }
  return new FeedReaders(stdin, pipes);
}
