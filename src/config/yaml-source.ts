/**
 * The config text as a YAML document: its data, its syntax errors and
 * duplicate keys, and the line and column behind any key path, so every
 * issue found later (by the schema or by the checks) can point into the file.
 */
import { type Document, LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Tags } from 'yaml';
import type { ConfigIssue } from './config-error.js';
import { formatPath, type KeyPath, type PathIssue } from './path-issue.js';

interface Position {
  line: number;
  column: number;
}

const MERGE_KEY = '<<';

/**
 * YAML 1.1 because the original read configs with PyYAML, which speaks 1.1:
 * `yes`/`no`/`on`/`off` are booleans there, and old files must mean the same.
 * Merge keys (`<<: *defaults`) too, which PyYAML also understands.
 * Duplicate keys are found by our own walk (duplicateKeys), which knows the
 * key path; yaml's own check only knows an offset.
 */
const PARSE_OPTIONS = {
  version: '1.1',
  merge: true,
  uniqueKeys: false,
  prettyErrors: false,
  customTags: pyyamlBooleans,
} as const;

const BOOL_TAG = 'tag:yaml.org,2002:bool';

/**
 * PyYAML's 1.1 booleans are yes/no/on/off/true/false in three casings, but
 * not the spec's single letters: for it (and so for old configs) `y` and `n`
 * are strings — a feed may be called `n`, a mimetype may be `y`.
 */
function pyyamlBooleans(tags: Tags): Tags {
  return tags.map((tag): Tags[number] => {
    if (typeof tag === 'string' || tag.tag !== BOOL_TAG || tag.collection !== undefined) return tag;
    const test = tag.identify?.(true) ? /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/ : /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/;
    return { ...tag, test };
  });
}

export class YamlSource {
  private readonly lines = new LineCounter();
  private readonly doc: Document.Parsed;
  private plain: { value: unknown } | undefined;

  constructor(
    text: string,
    private readonly file: string,
  ) {
    this.doc = parseDocument(text, { ...PARSE_OPTIONS, lineCounter: this.lines });
  }

  /** Errors that make the text not YAML at all; when there are any, nothing else is worth checking. */
  syntaxIssues(): ConfigIssue[] {
    const issues = this.doc.errors.map((error) => this.issueAt(error.pos[0], '', `invalid YAML: ${error.message}`));
    this.walk(this.doc.contents, [], (node, path) => {
      if (isAlias(node) && node.resolve(this.doc) === undefined) {
        issues.push(this.issueAt(rangeStart(node), formatPath(path), `unknown alias *${node.source}`));
      }
    });
    if (issues.length > 0) return issues;
    try {
      this.plain = { value: this.doc.toJS() };
    } catch (error) {
      // e.g. too many aliases (a "billion laughs" document); yaml gives no position.
      issues.push(this.issueAt(0, '', `invalid YAML: ${error instanceof Error ? error.message : String(error)}`));
    }
    return issues;
  }

  /** The document as plain data (after syntaxIssues found none); null for an empty or comment-only file. */
  data(): unknown {
    this.plain ??= { value: this.doc.toJS() };
    return this.plain.value;
  }

  /** Every key repeated within one mapping, pointing at the repetition (a path would find the first one). */
  duplicateKeys(): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    this.walk(this.doc.contents, [], (node, path) => {
      if (!isMap(node)) return;
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        const key = keyText(pair.key);
        if (key === undefined || key === MERGE_KEY) continue;
        const first = seen.get(key);
        if (first === undefined) seen.set(key, this.positionOf(pair.key).line);
        else {
          const message = `duplicate key (first defined at line ${first})`;
          issues.push(this.issueAt(rangeStart(pair.key), formatPath([...path, key]), message));
        }
      }
    });
    return issues;
  }

  /** Places a path issue in the file and makes it a ConfigIssue. */
  place(issue: PathIssue): ConfigIssue {
    const { line, column } = this.locate(issue.source ?? issue.path, issue.at ?? 'value');
    const message = issue.note === undefined ? issue.message : `${issue.message} (${issue.note})`;
    return { file: this.file, line, column, path: formatPath(issue.path), message, severity: issue.severity ?? 'error' };
  }

  /**
   * The value node at `path` when it exists (the thing to fix), else its key,
   * else — for a key that is missing — the key naming the mapping it is
   * missing from (`cam1:` for streams.cam1.mimetype), else the mapping.
   */
  private locate(path: KeyPath, at: 'key' | 'value'): Position {
    let node: unknown = this.doc.contents;
    let key: unknown;
    for (const segment of path) {
      const next = this.child(node, segment);
      if (next === undefined) return this.positionOf(key ?? node);
      node = next.value;
      key = next.key;
    }
    const emptyValue = node === null || (isScalar(node) && node.value === null);
    if (key !== undefined && (at === 'key' || emptyValue)) return this.positionOf(key);
    return this.positionOf(node ?? key);
  }

  /** The key and value nodes of one step down, following aliases and merge keys like toJS does. */
  private child(node: unknown, segment: string | number): { key: unknown; value: unknown } | undefined {
    const parent = this.deref(node);
    if (isSeq(parent)) {
      const item: unknown = parent.items[Number(segment)];
      return item === undefined ? undefined : { key: item, value: this.deref(item) };
    }
    if (!isMap(parent)) return undefined;
    const own = parent.items.find((pair) => keyText(pair.key) === String(segment));
    if (own) return { key: own.key, value: this.deref(own.value) };
    for (const pair of parent.items) {
      if (keyText(pair.key) !== MERGE_KEY) continue;
      const sources = this.deref(pair.value);
      for (const source of isSeq(sources) ? sources.items : [sources]) {
        const merged = this.child(source, segment);
        if (merged) return merged;
      }
    }
    return undefined;
  }

  private deref(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.doc) : node;
  }

  /** Visits every node (not following aliases) with its key path. */
  private walk(node: unknown, path: KeyPath, visit: (node: unknown, path: KeyPath) => void): void {
    visit(node, path);
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = keyText(pair.key);
        if (key !== undefined) this.walk(pair.value, key === MERGE_KEY ? path : [...path, key], visit);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => this.walk(item, [...path, index], visit));
    } else if (isPair(node)) {
      this.walk(node.value, path, visit);
    }
  }

  private positionOf(node: unknown): Position {
    return this.positionAt(rangeStart(node));
  }

  private positionAt(offset: number): Position {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  private issueAt(offset: number, path: string, message: string): ConfigIssue {
    return { file: this.file, ...this.positionAt(offset), path, message, severity: 'error' };
  }
}

/** A key as toJS turns it into an object key (`1` -> "1", YAML 1.1 `yes` -> "true"); yaml marks `<<` with a symbol. */
function keyText(key: unknown): string | undefined {
  if (!isScalar(key)) return undefined;
  return typeof key.value === 'symbol' ? MERGE_KEY : String(key.value);
}

/** Offset where a node starts; 0 (line 1, column 1) for an empty document. */
function rangeStart(node: unknown): number {
  const hasRange = typeof node === 'object' && node !== null && 'range' in node && Array.isArray(node.range);
  return hasRange ? ((node.range as number[]).at(0) ?? 0) : 0;
}
