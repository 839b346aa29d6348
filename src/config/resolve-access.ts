/**
 * The access and limit keys as written → AccessSettings: paths made
 * absolute (relative to the config file), bandwidth suffixes applied, each
 * stream's `access` merged over the top-level one key by key.
 */
import path from 'node:path';
import { BANDWIDTH_PATTERN } from './access-schema.js';
import type { AccessRules, AccessSettings, StreamAccess } from './access-types.js';
import type { RawConfig } from './schema.js';

type RawAccess = NonNullable<RawConfig['access']>;

const SUFFIX: Readonly<Record<string, number>> = { '': 1, k: 1e3, m: 1e6, g: 1e9 };

/** `900M` → 900 000 000; numbers are bits per second already. */
export function parseBandwidth(value: number | string): number {
  if (typeof value === 'number') return value;
  const match = BANDWIDTH_PATTERN.exec(value);
  return Number(match?.[1] ?? 0) * (SUFFIX[(match?.[2] ?? '').toLowerCase()] ?? 1);
}

const NONE: AccessRules = { allow: [], deny: [], users: null, signed: null };

export function resolveAccess(raw: RawConfig, configFile: string): AccessSettings {
  const dir = path.dirname(configFile);
  const server = mergeRules(NONE, raw.access, dir);
  const streams: Record<string, StreamAccess> = {};
  for (const [name, stream] of Object.entries(raw.streams)) {
    if (stream.max_clients === undefined && stream.access === undefined) continue;
    streams[name] = { maxClients: stream.max_clients ?? null, rules: mergeRules(server, stream.access, dir) };
  }
  return {
    maxClients: raw.max_clients ?? null,
    maxBandwidth: raw.max_bandwidth === undefined ? null : parseBandwidth(raw.max_bandwidth),
    maxClientsPerIp: raw.max_clients_per_ip ?? null,
    trustedProxies: raw.trusted_proxies,
    headTimeoutSeconds: raw.head_timeout,
    maxPendingHeads: raw.max_pending_heads,
    server,
    // admin_access replaces access as a whole: operators and viewers are different people.
    admin: raw.admin_access === undefined ? server : mergeRules(NONE, raw.admin_access, dir),
    streams,
  };
}

function mergeRules(base: AccessRules, raw: RawAccess | undefined, dir: string): AccessRules {
  if (raw === undefined) return base;
  const users =
    raw.users === undefined
      ? base.users
      : raw.users === false
        ? null
        : typeof raw.users === 'string'
          ? { kind: 'file' as const, file: path.resolve(dir, raw.users) }
          : { kind: 'inline' as const, users: { ...raw.users } };
  const signed =
    raw.signed === undefined ? base.signed : raw.signed === false ? null : { secretFile: path.resolve(dir, raw.signed.secret_file), param: raw.signed.param };
  return { allow: raw.allow ?? base.allow, deny: raw.deny ?? base.deny, users, signed };
}
