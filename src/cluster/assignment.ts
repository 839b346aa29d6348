import type { ServerConfig } from '../config/types.js';
import { feedId, parseSourceId, streamId, type SourceId } from './source-id.js';

/**
 * A pipeline component is a set of feeds and streams connected through
 * `feed:` and `feeds:` references. One worker owns a whole component, so a feed's bytes
 * reach the stdin of its streams' programs without crossing processes; only
 * the output of shared streams is copied to other workers for their clients.
 */
export interface Component {
  /** Stable id: the smallest member's id. */
  id: SourceId;
  feeds: string[];
  streams: string[];
}

export function findComponents(config: ServerConfig): Component[] {
  const parent = new Map<SourceId, SourceId>();
  const find = (x: SourceId): SourceId => {
    let root = x;
    while (parent.get(root) !== root) root = parent.get(root) ?? root;
    parent.set(x, root);
    return root;
  };
  const union = (a: SourceId, b: SourceId): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  };
  for (const name of Object.keys(config.feeds)) parent.set(feedId(name), feedId(name));
  for (const name of Object.keys(config.streams)) parent.set(streamId(name), streamId(name));
  for (const feed of Object.values(config.feeds)) {
    if (feed.feed) union(feedId(feed.name), feedId(feed.feed));
  }
  for (const stream of Object.values(config.streams)) {
    if (stream.feed) union(streamId(stream.name), feedId(stream.feed));
    for (const input of stream.inputs ?? []) union(streamId(stream.name), feedId(input.feed));
  }
  const byRoot = new Map<SourceId, Component>();
  for (const member of parent.keys()) {
    const root = find(member);
    let component = byRoot.get(root);
    if (!component) {
      component = { id: root, feeds: [], streams: [] };
      byRoot.set(root, component);
    }
    const { kind, name } = parseSourceId(member);
    (kind === 'feed' ? component.feeds : component.streams).push(name);
  }
  return [...byRoot.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Spread components over workers, keeping the owner of every component that
 * already has one (so a reload does not move running pipelines).
 */
export function assignComponents(
  components: Component[],
  workers: number,
  previous: Map<SourceId, number> = new Map(),
): Map<SourceId, number> {
  const load = new Array<number>(workers).fill(0);
  const owners = new Map<SourceId, number>();
  const weight = (c: Component): number => c.feeds.length + c.streams.length;
  for (const c of components) {
    const kept = previous.get(c.id);
    if (kept !== undefined && kept < workers) {
      owners.set(c.id, kept);
      load[kept] = (load[kept] ?? 0) + weight(c);
    }
  }
  for (const c of components) {
    if (owners.has(c.id)) continue;
    let best = 0;
    for (let w = 1; w < workers; w++) if ((load[w] ?? 0) < (load[best] ?? 0)) best = w;
    owners.set(c.id, best);
    load[best] = (load[best] ?? 0) + weight(c);
  }
  return owners;
}

/** Owner worker of every feed and stream. */
export function ownerMap(components: Component[], owners: Map<SourceId, number>): Record<SourceId, number> {
  const map: Record<SourceId, number> = {};
  for (const c of components) {
    const owner = owners.get(c.id) ?? 0;
    for (const f of c.feeds) map[feedId(f)] = owner;
    for (const s of c.streams) map[streamId(s)] = owner;
  }
  return map;
}
