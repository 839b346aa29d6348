/**
 * The access settings made ready to check requests with: IP lists as
 * BlockLists, htpasswd files and URL secrets read. Built at start and on
 * every SIGHUP (so edited files take effect); a file that cannot be read or
 * parsed fails the whole build, and the running policy stays.
 */
import { readFile } from 'node:fs/promises';
import type { AccessRules, AccessSettings, UsersSource } from '../config/access-types.js';
import { MIN_SECRET_BYTES, trimSecret } from '../config/access-checks.js';
import { VoyandzError } from '../errors.js';
import { parseHtpasswd } from './htpasswd.js';
import { AddressSet, IpRules } from './ip-lists.js';

export interface CompiledRules {
  ip: IpRules;
  /** user name → bcrypt hash; null: no Basic auth. */
  users: ReadonlyMap<string, string> | null;
  signed: { secret: Buffer; param: string } | null;
}

export interface AccessPolicy {
  trusted: AddressSet;
  server: CompiledRules;
  admin: CompiledRules;
  /** Streams with rules of their own; the others use `server`. */
  streams: ReadonlyMap<string, CompiledRules>;
}

/** Throws VoyandzError ACCESS_FILE naming the file at fault. */
export async function compilePolicy(settings: AccessSettings): Promise<AccessPolicy> {
  // One read per file, however many routes name it.
  const files = new Map<string, Promise<Buffer>>();
  const read = (file: string): Promise<Buffer> => {
    let pending = files.get(file);
    if (!pending) {
      pending = readFile(file).catch((error: unknown) => {
        const e = error as NodeJS.ErrnoException;
        throw new VoyandzError('ACCESS_FILE', file, `cannot read: ${e.code ?? e.message}`);
      });
      files.set(file, pending);
    }
    return pending;
  };
  const compile = async (rules: AccessRules): Promise<CompiledRules> => ({
    ip: new IpRules(rules.allow, rules.deny),
    users: rules.users === null ? null : await loadUsers(rules.users, read),
    signed: rules.signed === null ? null : { secret: await loadSecret(rules.signed.secretFile, read), param: rules.signed.param },
  });
  const streams = new Map<string, CompiledRules>();
  for (const [name, stream] of Object.entries(settings.streams)) streams.set(name, await compile(stream.rules));
  return {
    trusted: new AddressSet(settings.trustedProxies),
    server: await compile(settings.server),
    admin: await compile(settings.admin),
    streams,
  };
}

async function loadUsers(source: UsersSource, read: (file: string) => Promise<Buffer>): Promise<ReadonlyMap<string, string>> {
  if (source.kind === 'inline') return new Map(Object.entries(source.users));
  const parsed = parseHtpasswd((await read(source.file)).toString('utf8'));
  const first = parsed.problems.at(0);
  if (first) throw new VoyandzError('ACCESS_FILE', `${source.file}:${first.line}`, first.message);
  return parsed.users;
}

async function loadSecret(file: string, read: (file: string) => Promise<Buffer>): Promise<Buffer> {
  const secret = trimSecret(await read(file));
  if (secret.length < MIN_SECRET_BYTES) throw new VoyandzError('ACCESS_FILE', file, `the secret has ${secret.length} bytes; at least ${MIN_SECRET_BYTES} are needed`);
  return Buffer.from(secret);
}
