/**
 * Signed URLs: `PATH?expires=UNIX_SECONDS&sig=SIGNATURE`, where SIGNATURE is
 * base64url(HMAC-SHA256(secret, PATH + "\n" + UNIX_SECONDS)) over the
 * percent-decoded path. The signature parameter's name is configurable
 * (`signed.param`); the other query parameters are not signed and are
 * ignored. Signatures are compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const EXPIRES_PARAM = 'expires';

export type SignatureCheck = { ok: true } | { ok: false; why: 'missing' | 'malformed' | 'bad' } | { ok: false; why: 'expired'; expiredAt: number };

function signature(secret: Buffer, path: string, expires: number): string {
  return createHmac('sha256', secret).update(`${path}\n${expires}`, 'utf8').digest('base64url');
}

export function signedUrl(secret: Buffer, param: string, path: string, expires: number): string {
  return `${path}?${EXPIRES_PARAM}=${expires}&${encodeURIComponent(param)}=${signature(secret, path, expires)}`;
}

/** `path` percent-decoded; `query` is what follows "?" in the target (may be empty). */
export function checkSignature(secret: Buffer, param: string, path: string, query: string, nowSeconds: number): SignatureCheck {
  const params = new URLSearchParams(query);
  const expiresText = params.get(EXPIRES_PARAM);
  const given = params.get(param);
  if (expiresText === null || given === null) return { ok: false, why: 'missing' };
  if (!/^\d{1,12}$/.test(expiresText) || !/^[A-Za-z0-9_-]{43}$/.test(given)) return { ok: false, why: 'malformed' };
  const expires = Number(expiresText);
  const expected = Buffer.from(signature(secret, path, expires), 'latin1');
  if (!timingSafeEqual(expected, Buffer.from(given, 'latin1'))) return { ok: false, why: 'bad' };
  // Checked after the signature: an expiry a client made up is just a bad signature.
  if (expires < nowSeconds) return { ok: false, why: 'expired', expiredAt: expires };
  return { ok: true };
}
