/**
 * A feed or stream by name. Names come from users (config keys, request
 * paths, peer hellos), so a lookup must see only the entries themselves:
 * `constructor` or `__proto__` must not find Object.prototype's members.
 */
export function entryOf<T>(entries: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(entries, name) ? entries[name] : undefined;
}
