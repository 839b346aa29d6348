/**
 * The resolved access and limit settings (part of ServerConfig). Plain data:
 * paths are absolute, defaults applied, per-stream overrides merged. The
 * files they name (htpasswd, URL secrets) are read by the primary
 * (src/access/policy.ts), at start and on every SIGHUP.
 */

export type UsersSource = { kind: 'file'; file: string } | { kind: 'inline'; users: Record<string, string> };

interface SignedSource {
  secretFile: string;
  /** Query parameter holding the signature. */
  param: string;
}

export interface AccessRules {
  /** CIDR ranges; empty: everyone. */
  allow: string[];
  deny: string[];
  users: UsersSource | null;
  signed: SignedSource | null;
}

export interface StreamAccess {
  maxClients: number | null;
  rules: AccessRules;
}

export interface AccessSettings {
  /** Stream clients on the whole server; null: no limit. */
  maxClients: number | null;
  /** Bits per second of stream output on the whole server; null: no limit. */
  maxBandwidth: number | null;
  maxClientsPerIp: number | null;
  /** CIDR ranges whose X-Forwarded-For / Forwarded headers are believed. */
  trustedProxies: string[];
  /** Seconds a request head may take, from the start of the connection or of a keep-alive request. */
  headTimeoutSeconds: number;
  maxPendingHeads: number;
  /** Every route without rules of its own: pages, streams without `access`. */
  server: AccessRules;
  /** /stat, /stat.json, /config, /metrics. */
  admin: AccessRules;
  /** Only streams with a max_clients or access of their own; the others follow `server`. */
  streams: Record<string, StreamAccess>;
}
