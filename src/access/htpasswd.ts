/**
 * htpasswd files as `htpasswd -B` writes them (`name:$2y$05$…`, one a
 * line). Only bcrypt hashes are accepted: the MD5 (`$apr1$`), SHA1 and
 * crypt() forms htpasswd can also write are fast to brute-force.
 */

interface HtpasswdProblem {
  line: number;
  message: string;
}

export interface Htpasswd {
  users: Map<string, string>;
  problems: HtpasswdProblem[];
}

/** `$2a$`, `$2b$`, `$2y$` (all the same algorithm for passwords of valid UTF-8), cost 04–31, 53 characters of salt and hash. */
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

export function isBcryptHash(hash: string): boolean {
  return BCRYPT.test(hash);
}

export const BCRYPT_MESSAGE = 'must be a bcrypt hash ($2y$/$2b$, as `htpasswd -nB NAME` or `voyandz hash-password` print it)';

/** A user name a browser can send: no colon (the Basic separator), no control characters. */
export function isUserName(name: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  return name.length > 0 && !/[:\0-\x1f\x7f]/.test(name);
}

export function parseHtpasswd(text: string): Htpasswd {
  const users = new Map<string, string>();
  const problems: HtpasswdProblem[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon);
    const hash = colon < 0 ? '' : line.slice(colon + 1).trim();
    if (!isUserName(name)) problems.push({ line: index + 1, message: 'expected NAME:HASH' });
    else if (!isBcryptHash(hash)) problems.push({ line: index + 1, message: `user ${name}: ${BCRYPT_MESSAGE}` });
    else if (users.has(name)) problems.push({ line: index + 1, message: `user ${name} appears twice` });
    else users.set(name, hash);
  }
  return { users, problems };
}
