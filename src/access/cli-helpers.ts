/**
 * `voyandz hash-password` and `voyandz sign`: what a user needs to fill in
 * `users:` and to hand out signed URLs. Each returns an exit code and
 * writes its own output.
 */
import { entryOf } from '../config/lookup.js';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import bcrypt from 'bcryptjs';
import { loadConfigFile } from '../config/load.js';
import { ConfigError } from '../config/config-error.js';
import { trimSecret } from '../config/access-checks.js';
import type { ServerConfig } from '../config/types.js';
import { signedUrl } from './signed-url.js';

const DEFAULT_COST = 10;

export const HELPERS_HELP = `  hash-password [--cost N]   read a password on stdin, print its bcrypt hash
                             (for users: in the config, or an htpasswd file as NAME:HASH)
  sign PATH --ttl SECONDS [-f CONFIG] [--base URL]
                             print PATH signed with the secret of its access.signed,
                             valid for SECONDS
`;

export async function hashPasswordCommand(args: string[], stdin: NodeJS.ReadableStream): Promise<number> {
  const { values } = parseArgs({ args, options: { cost: { type: 'string' } }, strict: true });
  const cost = values.cost === undefined ? DEFAULT_COST : Number(values.cost);
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) return fail('--cost must be an integer from 4 to 31');
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  // One line: what `echo secret |` or a prompt sends; the newline is not part of it.
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (password === '') return fail('no password on stdin (e.g. printf %s "$PASSWORD" | voyandz hash-password)');
  if (bcrypt.truncates(password)) return fail('the password is longer than 72 bytes, which bcrypt ignores beyond; use a shorter one');
  process.stdout.write(`${await bcrypt.hash(password, cost)}\n`);
  return 0;
}

export async function signCommand(args: string[], defaultConfig: () => string): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ttl: { type: 'string' }, file: { type: 'string', short: 'f' }, base: { type: 'string' } },
    strict: true,
    allowPositionals: true,
  });
  const path = positionals.at(0);
  if (positionals.length !== 1 || path === undefined || !path.startsWith('/')) return fail('usage: voyandz sign PATH --ttl SECONDS [-f CONFIG]');
  const ttl = Number(values.ttl);
  if (values.ttl === undefined || !Number.isInteger(ttl) || ttl <= 0) return fail('--ttl must be a number of seconds > 0');
  let config: ServerConfig;
  try {
    ({ config } = await loadConfigFile(values.file ?? defaultConfig()));
  } catch (error) {
    return fail(error instanceof ConfigError ? error.format() : (error as Error).message);
  }
  const stream = Object.values(config.streams).find((s) => s.url === path || s.altUrl === path);
  const rules = (stream && entryOf(config.access.streams, stream.name)?.rules) ?? config.access.server;
  if (rules.signed === null) return fail(`${path}: no access.signed in ${config.file}`);
  const secret = trimSecret(readFileSync(rules.signed.secretFile));
  const expires = Math.floor(Date.now() / 1000) + ttl;
  const base = (values.base ?? '').replace(/\/$/, '');
  process.stdout.write(`${base}${signedUrl(secret, rules.signed.param, path, expires)}\n`);
  return 0;
}

function fail(message: string): number {
  process.stderr.write(`voyandz: ${message}\n`);
  return 2;
}
