/**
 * The config keys of relays (pull feeds and streams): `pull: URL` instead of
 * `command:`, and `pull_headers` (top level, and per feed or stream). See
 * schema.ts for the conventions: one description per key, a message per
 * wrong value. The rules that look at several keys (command or pull, what a
 * pulled entry may not say) are in pull-checks.ts.
 */
import { z } from 'zod';

function says(text: string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => (issue.input === undefined ? 'required' : text) };
}

const URL_MESSAGE = 'must be an http:// or https:// URL, e.g. http://origin.example:8090/stream/cam1';

/** What is wrong with a pull URL, or undefined when it can be pulled. */
function pullUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return URL_MESSAGE;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${URL_MESSAGE} (not ${url.protocol})`;
  if (url.hostname === '') return `${URL_MESSAGE} (it names no host)`;
  // Credentials in a URL end up in logs and on /config; a header is where they belong.
  if (url.username !== '' || url.password !== '') return 'must not hold a user name or password: put them in pull_headers (Authorization: Basic ...)';
  if (url.hash !== '') return 'must not have a #fragment (it is never sent to the origin)';
  return undefined;
}

const pullUrl = z.string(says(URL_MESSAGE)).check((ctx) => {
  const problem = pullUrlProblem(ctx.value);
  if (problem !== undefined) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
});

/** RFC 9110 token: what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible characters, spaces and tabs: no CR/LF (a header injected into the request) and no NUL. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\uffff]*$/;
const HEADERS_MESSAGE = 'must be a mapping of header name: value';

const pullHeaders = z.record(
  z.string().regex(HEADER_NAME, { error: 'must be an HTTP header name (letters, digits, "-", no spaces or colons)' }),
  z.string(says('must be a string (the header value)')).regex(HEADER_VALUE, { error: 'must be one line of text (no line breaks or control characters)' }),
  says(HEADERS_MESSAGE),
);

/** Keys a feed and a stream may set. */
export const pullKeys = {
  pull: pullUrl
    .optional()
    .describe(
      'Instead of command: the bytes come from an HTTP GET of this URL (another voyandz, or any HTTP stream), made only ' +
        'while something needs them (mode applies), reconnected with a growing back-off when the response ends or fails.',
    ),
  pull_headers: pullHeaders
    .optional()
    .describe('Request headers of the pull, over the top-level pull_headers (a header named in both takes this value), e.g. Authorization.'),
};

/** Top-level keys. */
export const serverPullKeys = {
  pull_headers: pullHeaders
    .optional()
    .describe('Request headers of every pull (e.g. Authorization: Basic ... for a protected origin); feeds and streams may add or override them.'),
};
