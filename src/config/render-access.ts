/**
 * The access and limit settings written back in the file's terms, for
 * `--check` (render.ts) and /config. Password hashes never appear: an inline
 * user is shown with HIDDEN instead of its hash; a file is shown by its path.
 */
import { entryOf } from './lookup.js';
import type { AccessRules, AccessSettings, UsersSource } from './access-types.js';
import type { ServerConfig } from './types.js';

export const HIDDEN = '(hidden)';

export function renderAccessKeys(access: AccessSettings): Record<string, unknown> {
  return {
    ...(access.maxClients === null ? {} : { max_clients: access.maxClients }),
    ...(access.maxBandwidth === null ? {} : { max_bandwidth: access.maxBandwidth }),
    ...(access.maxClientsPerIp === null ? {} : { max_clients_per_ip: access.maxClientsPerIp }),
    trusted_proxies: [...access.trustedProxies],
    head_timeout: access.headTimeoutSeconds,
    max_pending_heads: access.maxPendingHeads,
    access: renderRules(access.server),
    admin_access: renderRules(access.admin),
  };
}

/** The keys a stream adds: its limit, and its access when it differs from the server's. */
export function renderStreamAccessKeys(access: AccessSettings, stream: string): Record<string, unknown> {
  const own = entryOf(access.streams, stream);
  if (!own) return {};
  return { ...(own.maxClients === null ? {} : { max_clients: own.maxClients }), access: renderRules(own.rules) };
}

function renderRules(rules: AccessRules): Record<string, unknown> {
  return {
    // Copies: shared arrays would come out as YAML anchors and aliases.
    allow: [...rules.allow],
    deny: [...rules.deny],
    users: rules.users === null ? false : renderUsers(rules.users),
    signed: rules.signed === null ? false : { secret_file: rules.signed.secretFile, param: rules.signed.param },
  };
}

function renderUsers(users: UsersSource): string | Record<string, string> {
  return users.kind === 'file' ? users.file : Object.fromEntries(Object.keys(users.users).map((name) => [name, HIDDEN]));
}

/** The resolved config with every inline password hash replaced by HIDDEN (what /config shows). */
export function withoutSecrets(config: ServerConfig): ServerConfig {
  const hide = (rules: AccessRules): AccessRules =>
    rules.users?.kind === 'inline' ? { ...rules, users: { kind: 'inline', users: Object.fromEntries(Object.keys(rules.users.users).map((n) => [n, HIDDEN])) } } : rules;
  const streams = Object.fromEntries(Object.entries(config.access.streams).map(([name, s]) => [name, { ...s, rules: hide(s.rules) }]));
  return { ...config, access: { ...config.access, server: hide(config.access.server), admin: hide(config.access.admin), streams } };
}
