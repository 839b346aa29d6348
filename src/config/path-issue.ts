/**
 * A config problem before it has a line and column: checks speak in key
 * paths (what they understand), and the YAML source turns paths into
 * positions at the end (see yaml-source.ts).
 */

export type KeyPath = readonly (string | number)[];

export interface PathIssue {
  path: KeyPath;
  message: string;
  /**
   * Where to point: normally the value (the thing to fix); 'key' when the key
   * itself is at fault (unknown key, duplicate key, bad name).
   */
  at?: 'key' | 'value';
  /**
   * Where the value was written, when that is not `path`: a generated or
   * templated entry is reported by its name (feeds.cam3) but points at the
   * template or set that wrote the value.
   */
  source?: KeyPath;
  /** Which instance of a generated set, e.g. "n=3"; shown after the message. */
  note?: string;
  /** A warning (an unknown key: the original ignored those) never stops anything; default: an error. */
  severity?: Severity;
}

export type Severity = 'error' | 'warning';

/** `streams.cam1.mimetype`; list items as `[2]`. */
export function formatPath(path: KeyPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? segment : `.${segment}`;
  }
  return text;
}
