import type { ServerConfig } from '../config/types.js';

/**
 * A pipeline component is a set of feeds and streams connected through
 * `feed:` and `feeds:` references. One worker owns a whole component, so a feed's bytes
 * reach the stdin of its streams' programs without crossing processes; only
 * the output of shared streams is copied to other workers for their clients.
 */
export interface Component {
  /** Stable id: the smallest member name, prefixed by its kind. */
  id: string;
  feeds: string[];
  streams: string[];
}

export function findComponents(config: ServerConfig): Component[] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let root = x;
    while (parent.get(root) !== root) root = parent.get(root) ?? root;
    parent.set(x, root);
    return root;
  };
  const union = (a: string, b: string): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  };
  for (const name of Object.keys(config.feeds)) parent.set(`feed:${name}`, `feed:${name}`);
  for (const name of Object.keys(config.streams)) parent.set(`stream:${name}`, `stream:${name}`);
  for (const feed of Object.values(config.feeds)) {
    if (feed.feed) union(`feed:${feed.name}`, `feed:${feed.feed}`);
  }
  for (const stream of Object.values(config.streams)) {
    if (stream.feed) union(`stream:${stream.name}`, `feed:${stream.feed}`);
    for (const input of stream.inputs ?? []) union(`stream:${stream.name}`, `feed:${input.feed}`);
  }
  const byRoot = new Map<string, Component>();
  for (const member of parent.keys()) {
    const root = find(member);
    let component = byRoot.get(root);
    if (!component) {
      component = { id: root, feeds: [], streams: [] };
      byRoot.set(root, component);
    }
    const [kind, name] = splitMember(member);
    (kind === 'feed' ? component.feeds : component.streams).push(name);
  }
  return [...byRoot.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function splitMember(member: string): ['feed' | 'stream', string] {
  const colon = member.indexOf(':');
  return [member.slice(0, colon) as 'feed' | 'stream', member.slice(colon + 1)];
}

/**
 * Spread components over workers, keeping the owner of every component that
 * already has one (so a reload does not move running pipelines).
 */
export function assignComponents(
  components: Component[],
  workers: number,
  previous: Map<string, number> = new Map(),
): Map<string, number> {
  const load = new Array<number>(workers).fill(0);
  const owners = new Map<string, number>();
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

/** Owner worker of every feed and stream, keyed `feed:NAME` / `stream:NAME`. */
export function ownerMap(components: Component[], owners: Map<string, number>): Record<string, number> {
  const map: Record<string, number> = {};
  for (const c of components) {
    const owner = owners.get(c.id) ?? 0;
    for (const f of c.feeds) map[`feed:${f}`] = owner;
    for (const s of c.streams) map[`stream:${s}`] = owner;
  }
  return map;
}
