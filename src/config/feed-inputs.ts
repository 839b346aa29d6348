/**
 * Multi-feed streams: `feeds: [video, audio]` (or `feeds: { v: cam1, a: mic }`)
 * gives the stream's program one pipe per feed, fd 3, 4, … in order, and
 * `${feeds.NAME}` in its command stands for that pipe as ffmpeg reads it
 * (`pipe:3`). Checked here against the command, resolved to argv for the
 * runtime, which only sees the ordered feed names.
 */
import type { PathIssue } from './path-issue.js';
import type { StreamInput } from './types.js';

/** fd of the first input pipe: 0-2 are stdin, stdout and stderr. */
const FIRST_INPUT_FD = 3;

const PLACEHOLDER = /\$\{feeds\.([^}]*)\}/g;

/** The inputs as written, in fd order; undefined when `feeds` is not a list or mapping (the schema's to report). */
export function inputsOf(feeds: unknown): StreamInput[] | undefined {
  if (Array.isArray(feeds)) return feeds.map((feed) => ({ alias: String(feed), feed: String(feed) }));
  if (typeof feeds === 'object' && feeds !== null) {
    return Object.entries(feeds).map(([alias, feed]) => ({ alias, feed: String(feed) }));
  }
  return undefined;
}

/**
 * The stream's `feeds:` against the feeds that exist and its own command:
 * unknown or repeated feeds, `feed:` said too, placeholders naming no input,
 * inputs the command never reads (their pipe would fill up and stall).
 */
export function checkFeedInputs(name: string, fields: Record<string, unknown>, known: readonly string[], knownList: string): PathIssue[] {
  const inputs = inputsOf(fields.feeds);
  if (inputs === undefined) return [];
  const at = ['streams', name, 'feeds'];
  const issues: PathIssue[] = [];
  if (typeof fields.feed === 'string') {
    issues.push({ path: ['streams', name, 'feed'], message: 'feed: and feeds: together: a program reads either one feed on stdin or several on pipes' });
  }
  const seen = new Set<string>();
  inputs.forEach((input, index) => {
    const key = Array.isArray(fields.feeds) ? index : input.alias;
    if (!known.includes(input.feed)) issues.push({ path: [...at, key], message: `unknown feed "${input.feed}" ${knownList}` });
    else if (seen.has(input.feed)) issues.push({ path: [...at, key], message: `feed "${input.feed}" is listed twice` });
    seen.add(input.feed);
  });
  if (typeof fields.command !== 'string') return issues;
  const aliases = inputs.map((input) => input.alias);
  const used = new Set<string>();
  for (const match of fields.command.matchAll(PLACEHOLDER)) {
    const alias = match[1];
    used.add(alias);
    if (!aliases.includes(alias)) {
      issues.push({ path: ['streams', name, 'command'], message: `unknown placeholder \${feeds.${alias}} (feeds: ${aliases.join(', ')})` });
    }
  }
  for (const alias of aliases) {
    if (!used.has(alias)) {
      issues.push({ path: ['streams', name, 'command'], message: `feed ${alias} is not read by the command: add \${feeds.${alias}} (e.g. -i \${feeds.${alias}})` });
    }
  }
  return issues;
}

/** The command with each `${feeds.NAME}` replaced by the pipe ffmpeg reads it from. */
export function substituteInputs(command: string, inputs: readonly StreamInput[]): string {
  return command.replace(PLACEHOLDER, (token, alias: string) => {
    const index = inputs.findIndex((input) => input.alias === alias);
    return index < 0 ? token : `pipe:${FIRST_INPUT_FD + index}`;
  });
}
