/** HTTP Basic credentials (RFC 7617) from an Authorization header. */

export interface Credentials {
  user: string;
  password: string;
}

/** `WWW-Authenticate` of every 401: one realm for the whole server. */
export const BASIC_CHALLENGE = 'Basic realm="voyandz"';

/** Longer than any sane user:password; not decoded at all. */
const MAX_ENCODED = 1024;

export function parseBasicAuth(header: string | undefined): Credentials | null {
  if (header === undefined) return null;
  const match = /^basic[ \t]+([A-Za-z0-9+/=._~-]+)[ \t]*$/i.exec(header);
  const encoded = match?.[1];
  if (encoded === undefined || encoded.length > MAX_ENCODED) return null;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function basicAuthHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}
