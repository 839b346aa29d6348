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
}

/** `streams.cam1.mimetype`; list items as `[2]`. */
export function formatPath(path: KeyPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? segment : `.${segment}`;
  }
  return text;
}
