/**
 * The config keys of access control and limits (see schema.ts for the
 * conventions: one description per key, a message per wrong value). Spread
 * into the top level and into streams by schema.ts.
 */
import { z } from 'zod';
import { parseCidr } from '../access/ip-lists.js';
import { BCRYPT_MESSAGE, isBcryptHash, isUserName } from '../access/htpasswd.js';

function says(text: string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => (issue.input === undefined ? 'required' : text) };
}

const CIDR_MESSAGE = 'must be an IP address or CIDR range, e.g. 10.0.0.0/8, 127.0.0.1 or ::1';
const cidr = z.string(says(CIDR_MESSAGE)).check((ctx) => {
  if (!parseCidr(ctx.value)) ctx.issues.push({ code: 'custom', message: CIDR_MESSAGE, input: ctx.value });
});
const cidrList = z.array(cidr, says('must be a list of IP addresses or CIDR ranges'));

const COUNT = 'must be an integer >= 1';
const count = z.number(says(COUNT)).int({ error: COUNT }).min(1, { error: COUNT });

export const BANDWIDTH_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)\s*$/;
const BANDWIDTH_MESSAGE = 'must be bits per second: a number, or one with a k, M or G suffix (900M)';

const bcryptHash = z.string(says(BCRYPT_MESSAGE)).check((ctx) => {
  if (!isBcryptHash(ctx.value)) ctx.issues.push({ code: 'custom', message: BCRYPT_MESSAGE, input: ctx.value });
});
const USERS_MESSAGE = 'must be the path of an htpasswd file, or a mapping of user name: bcrypt hash';
const userName = z.string().check((ctx) => {
  if (!isUserName(ctx.value)) ctx.issues.push({ code: 'custom', message: 'user names may not contain ":" or control characters', input: ctx.value });
});

const users = z
  .union([z.literal(false), z.string(says(USERS_MESSAGE)).min(1, { error: USERS_MESSAGE }), z.record(userName, bcryptHash, says(USERS_MESSAGE))], says(USERS_MESSAGE))
  .optional()
  .describe(
    'HTTP Basic users: the path of an htpasswd file (bcrypt, as `htpasswd -B` writes it; relative to the config file) ' +
      'or a mapping of user name: bcrypt hash (`voyandz hash-password`). Re-read on SIGHUP. false: none (drops inherited users).',
  );

const signed = z
  .union(
    [
      z.literal(false),
      z.strictObject(
        {
          secret_file: z
            .string(says('must be the path of a file holding the secret'))
            .min(1, { error: 'must be the path of a file holding the secret' })
            .describe('File holding the HMAC secret (at least 16 bytes; relative to the config file). Re-read on SIGHUP.'),
          param: z
            .string(says('must be a query parameter name'))
            .regex(/^[A-Za-z0-9_-]+$/, { error: 'must be a query parameter name (letters, digits, "_", "-")' })
            .default('sig')
            .describe('Query parameter carrying the signature. Default: sig.'),
        },
        says('must be a mapping with secret_file (and param)'),
      ),
    ],
    says('must be a mapping with secret_file (and param), or false'),
  )
  .optional()
  .describe(
    'Signed URLs: PATH?expires=UNIX_TIME&sig=base64url(HMAC-SHA256(secret, PATH + "\\n" + UNIX_TIME)); ' +
      '`voyandz sign PATH --ttl SECONDS` prints one. false: none (drops inherited signing).',
  );

const AccessSchema = z
  .strictObject(
    {
      allow: cidrList.optional().describe('Addresses allowed in (CIDR, IPv4 and IPv6). Empty or absent: everyone.'),
      deny: cidrList.optional().describe('Addresses refused (403); deny wins over allow.'),
      users,
      signed,
    },
    says('must be a mapping of allow, deny, users, signed'),
  )
  .describe('Who may reach a route: the IP lists, and one of users (HTTP Basic) or signed (signed URLs) when set.');

/** Keys every stream may set. */
export const streamAccessKeys = {
  max_clients: count.optional().describe('Clients of this stream at once; beyond: 503 with Retry-After.'),
  access: AccessSchema.optional().describe('Overrides keys of the top-level access for this stream (keys not given are inherited).'),
};

const SECONDS = says('must be a number of seconds > 0');

/** Top-level keys. */
export const serverAccessKeys = {
  max_clients: count.optional().describe('Stream clients on the whole server at once; beyond: 503 with Retry-After. Default: no limit.'),
  max_bandwidth: z
    .union([z.number(says(BANDWIDTH_MESSAGE)).positive({ error: BANDWIDTH_MESSAGE }), z.string(says(BANDWIDTH_MESSAGE)).regex(BANDWIDTH_PATTERN, { error: BANDWIDTH_MESSAGE })], says(BANDWIDTH_MESSAGE))
    .optional()
    .describe(
      'Bits per second of stream output on the whole server (k, M, G: 10^3, 10^6, 10^9). A new client whose stream ' +
        'would take it beyond: 503. Each stream is reckoned at its measured rate per client. Default: no limit.',
    ),
  max_clients_per_ip: count.optional().describe('Stream clients from one address at once; beyond: 429. Default: no limit.'),
  trusted_proxies: cidrList
    .default([])
    .describe('Reverse proxies (CIDR) whose X-Forwarded-For / Forwarded headers name the client; from anyone else they are ignored.'),
  access: AccessSchema.optional().describe('Access rules of every route: pages and streams (a stream may override them).'),
  admin_access: AccessSchema.optional().describe('Access rules of /stat, /stat.json, /config and /metrics, instead of access. Default: access.'),
  head_timeout: z
    .number(SECONDS)
    .positive(SECONDS)
    .default(10)
    .describe('Seconds a request head may take in all (not reset by each byte); then 408 and the connection is closed.'),
  max_pending_heads: count
    .default(1000)
    .describe(
      'Connections waiting for a request head at once; beyond, the oldest one waiting longer than a second is closed, ' +
        'or else the new one is closed at once.',
    ),
};
