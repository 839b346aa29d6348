/**
 * Which worker serves a shared stream's next client.
 *
 * The stream's program runs on one worker, its owner; any other worker that
 * serves it gets its bytes over a peer link. Spreading clients costs CPU
 * while one core could carry them: two fan-outs writing the same chunk to
 * their halves of the clients at the same moment on two cores cost more
 * than one writing to all (two C fan-outs fed through `tee`, 500 clients
 * each, took 1.3-1.6x the CPU of one with 1000 on this project's 2-core
 * box). So a client goes to the owner while the owner's event loop is busy
 * less than `spillLoad` of the time, and otherwise to the worker with the
 * fewest clients (spill_load, 0.5 by default). `spillLoad` 0 spreads from
 * the first client (README, "Which worker serves a client").
 */
export interface PlacementCandidate {
  /** Clients it holds now (handed and not yet gone). */
  readonly clients: number;
  /** Its event-loop utilisation (0..1) as it last reported it. */
  readonly load: number;
}

export function placeSharedClient<T extends PlacementCandidate>(owner: T | undefined, usable: readonly T[], spillLoad: number): T | undefined {
  if (owner !== undefined && usable.includes(owner) && owner.load < spillLoad) return owner;
  let target: T | undefined;
  for (const candidate of usable) if (target === undefined || candidate.clients < target.clients) target = candidate;
  return target;
}
