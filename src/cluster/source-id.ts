/**
 * The identity of a feed or a stream across the cluster: the key of owner
 * maps, of a worker's running sources and of the stats the primary merges.
 * Built and taken apart only here, so a feed and a stream of the same name
 * can never be confused and no module spells the format itself.
 */

export type SourceKind = 'feed' | 'stream';

declare const SOURCE_ID: unique symbol;
/** `feed:NAME` or `stream:NAME`; make one with feedId() / streamId(). */
export type SourceId = string & { readonly [SOURCE_ID]: true };

function make(kind: SourceKind, name: string): SourceId {
  return `${kind}:${name}` as SourceId;
}

export function feedId(name: string): SourceId {
  return make('feed', name);
}

export function streamId(name: string): SourceId {
  return make('stream', name);
}

export function sourceId(kind: SourceKind, name: string): SourceId {
  return make(kind, name);
}

/** Names may hold ':' (a stream `a:b`), the kind never does: split at the first one. */
export function parseSourceId(id: SourceId): { kind: SourceKind; name: string } {
  const colon = id.indexOf(':');
  return { kind: id.slice(0, colon) as SourceKind, name: id.slice(colon + 1) };
}
