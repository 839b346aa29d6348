/**
 * One request against one route's rules: the IP lists first, then — when
 * users or signed URLs are set — one of them must pass. The order is cheap
 * to dear: a valid signature is an HMAC, a password may be a bcrypt run on a
 * thread, so only requests that need one wait for it.
 */
import { BASIC_CHALLENGE, parseBasicAuth } from './basic-auth.js';
import type { PasswordVerifier, Verification } from './password-verifier.js';
import type { CompiledRules } from './policy.js';
import { refusal, type Refusal } from './refusal.js';
import { checkSignature, type SignatureCheck } from './signed-url.js';

export interface AccessRequest {
  /** The client's address (after trusted proxies). */
  client: string;
  /** Percent-decoded path: what a signature covers. */
  path: string;
  /** The query string, without "?". */
  query: string;
  authorization: string | undefined;
  /** For messages: the route as the client named it. */
  route: string;
}

/** null: allowed. */
export type AccessVerdict = Refusal | null;

export function checkAccess(
  rules: CompiledRules,
  request: AccessRequest,
  verifier: PasswordVerifier,
  nowSeconds: number,
): AccessVerdict | Promise<AccessVerdict> {
  if (!rules.ip.permits(request.client)) return refusal('ip', 'IP_DENIED', request.client, request.route);
  if (rules.users === null && rules.signed === null) return null;

  let signature: SignatureCheck | null = null;
  if (rules.signed) {
    signature = checkSignature(rules.signed.secret, rules.signed.param, request.path, request.query, nowSeconds);
    if (signature.ok) return null;
  }
  if (rules.users === null) return signatureRefusal(request.route, signature);

  const credentials = parseBasicAuth(request.authorization);
  if (!credentials) {
    // Basic is offered: a browser asks for a password on 401, never on 403.
    const reason = signature === null || signature.why === 'missing' ? 'auth' : signature.why === 'expired' ? 'expired' : 'signature';
    const accepted = rules.signed ? 'a user name and password (HTTP Basic) or a valid signed URL' : 'a user name and password (HTTP Basic)';
    return challenge(refusal(reason, 'AUTH_REQUIRED', request.route, accepted));
  }
  const verified = verifier.verify(request.client, credentials.user, credentials.password, rules.users.get(credentials.user));
  return verified instanceof Promise ? verified.then((v) => authVerdict(v, request)) : authVerdict(verified, request);
}

function authVerdict(verification: Verification, request: AccessRequest): AccessVerdict {
  switch (verification.result) {
    case 'ok':
      return null;
    case 'wrong':
      return challenge(refusal('auth', 'AUTH_FAILED', request.route));
    case 'rate-limited': {
      const refused = refusal('auth', 'AUTH_RATE_LIMITED', request.client, String(verification.retryAfterSeconds));
      refused.response.headers['retry-after'] = String(verification.retryAfterSeconds);
      return refused;
    }
    case 'busy': {
      const refused = refusal('auth', 'AUTH_BUSY', String(verification.retryAfterSeconds));
      refused.response.headers['retry-after'] = String(verification.retryAfterSeconds);
      return refused;
    }
  }
}

function challenge(refused: Refusal): Refusal {
  refused.response.headers['www-authenticate'] = BASIC_CHALLENGE;
  return refused;
}

function signatureRefusal(route: string, signature: SignatureCheck | null): Refusal {
  if (signature && !signature.ok && signature.why === 'expired') {
    return refusal('expired', 'SIGNATURE_EXPIRED', route, new Date(signature.expiredAt * 1000).toISOString());
  }
  const why = signature && !signature.ok ? signature.why : 'missing';
  const text = why === 'missing' ? 'no expires/signature parameters' : why === 'malformed' ? 'malformed expires or signature' : 'the signature does not match';
  return refusal('signature', 'SIGNATURE_INVALID', route, text);
}
