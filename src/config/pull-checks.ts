/**
 * What a feed or stream is made of: a program (`command`) or a pull of a URL
 * (`pull`), one of the two. A pulled entry runs no program, so the keys that
 * only mean something to a program (its input feeds, one program per client
 * or per request) are mistakes next to it. Read loosely, like checks.ts: a
 * value of the wrong type is the schema's to report.
 */
import type { PathIssue } from './path-issue.js';

type Fields = Record<string, unknown>;

/** Keys a pulled entry may not have, with why. */
const NOT_WITH_PULL = {
  feeds: {
    feed: 'a pulled feed reads no other feed: its bytes come from the URL',
  },
  streams: {
    feed: 'a pulled stream runs no program to read a feed (to transcode a pulled feed, pull it as a feed and give this stream a command)',
    feeds: 'a pulled stream runs no program to read feeds',
  },
} as const;

export function checkProducers(kind: 'feeds' | 'streams', name: string, fields: Fields): PathIssue[] {
  const at = (key: string): string[] => [kind, name, key];
  const pulled = fields.pull !== undefined;
  const issues: PathIssue[] = [];
  if (!pulled && fields.command === undefined) issues.push({ path: at('command'), message: 'required (or pull: URL, for a relay)' });
  if (pulled && fields.command !== undefined) issues.push({ path: at('pull'), message: 'command and pull together: an entry runs a program or pulls a URL, not both' });
  if (!pulled && fields.pull_headers !== undefined) issues.push({ path: at('pull_headers'), message: 'only means something with pull: URL' });
  if (kind === 'streams' && !pulled && fields.mimetype === undefined) issues.push({ path: at('mimetype'), message: 'required' });
  if (!pulled) return issues;
  for (const [key, why] of Object.entries(NOT_WITH_PULL[kind])) {
    if (fields[key] !== undefined) issues.push({ path: at(key), message: why });
  }
  if (kind === 'streams') {
    if (fields.type === 'shot') issues.push({ path: at('type'), message: 'a pulled stream is relayed as it comes: it cannot be a shot' });
    if (fields.client === 'exclusive') issues.push({ path: at('client'), message: 'a pulled stream is one pull fanned out to every client: client must be shared' });
  }
  return issues;
}

/**
 * A stream's `mode` keeps a pull running after its last client (or from the
 * start). The original ignored `mode` on a stream running a program, and so
 * does voyandz, with a warning: such a config behaves as it always did.
 */
export function checkStreamMode(name: string, fields: Fields): PathIssue[] {
  if (fields.mode === undefined || fields.pull !== undefined) return [];
  return [{ path: ['streams', name, 'mode'], message: 'applies to pulled streams only (pull: URL); ignored', severity: 'warning' }];
}
