/**
 * Templates and generated sets, expanded at load time into plain feeds and
 * streams: everything after the loader (the schema, the checks, the workers,
 * /config) sees only ordinary entries.
 *
 *   templates:                       generate:
 *     camera:                          - for: { n: 1..8 }
 *       params: { url: ~, fps: 25 }      feeds:
 *       command: ffmpeg -i ${url} …        cam${n}: { template: camera, args: { url: "rtsp://10.0.0.${n}/" } }
 *
 * Expansion reads the data loosely, like checks.ts: shapes are the schema's
 * to report (templates: and generate: stay in the data it validates); this
 * module reports what only it can see — unknown templates, parameters and
 * placeholders, missing arguments, names that collide after expansion — and
 * remembers where each generated entry came from, so a problem found later
 * in `feeds.cam3` points at the line that produced it.
 */
import { closest } from './schema-issues.js';
import { formatPath, type KeyPath, type PathIssue } from './path-issue.js';
import {
  isPlainMapping,
  placeholdersDeep,
  RESERVED_NAMESPACES,
  substitute,
  substituteDeep,
  variableOf,
  type Scalar,
  type VariableValue,
  type Variables,
} from './placeholders.js';

type EntryKind = 'feeds' | 'streams';
const KINDS: readonly EntryKind[] = ['feeds', 'streams'];

/** One generated set may not produce more entries than this (a typo like 1..100000 would hang the loader). */
const MAX_SET_SIZE = 10_000;
const RANGE = /^(-?\d+)\.\.(-?\d+)$/;

/** Where an expanded entry was written, for pointing at it. */
interface Origin {
  /** The entry as written: feeds.NAME, or generate[i].feeds.NAME_TEMPLATE. */
  entry: KeyPath;
  /** Keys written in the entry itself; other keys came from the template. */
  ownKeys: ReadonlySet<string>;
  /** templates.NAME when the entry uses one. */
  template?: KeyPath;
  /** e.g. "n=3": which instance of a generated set. */
  note?: string;
}

export interface Expansion {
  /** The data with feeds: and streams: expanded (templates: and generate: kept, for the schema to check). */
  data: unknown;
  /** Problems only expansion can see, at paths in the file (repeats across a set's instances included: the loader dedupes). */
  issues: PathIssue[];
  /**
   * Turns an issue found in the expanded data (feeds.cam3.mode) into one
   * pointing where the value was written; undefined when the issue is about
   * an entry that failed to expand, and was reported as such already.
   */
  translate(issue: PathIssue): PathIssue | undefined;
}

type Fields = Record<string, unknown>;

interface Template {
  path: KeyPath;
  params: Map<string, Scalar | null>;
  body: Fields;
  /** Its placeholders are wrong (reported once, at the template): entries using it are not expanded. */
  broken: boolean;
}

export function expandConfig(data: unknown): Expansion {
  if (!isPlainMapping(data)) return { data, issues: [], translate: (issue) => issue };
  const top = data;
  const issues: PathIssue[] = [];
  const templates = readTemplates(top.templates, issues);
  const origins = new Map<string, Origin>();
  const failed = new Set<string>();
  const expanded: Record<EntryKind, Fields> = { feeds: {}, streams: {} };
  const producedBy = new Map<string, string>();

  const add = (kind: EntryKind, name: string, entry: Fields, origin: Origin, vars: Variables, nameAt: KeyPath): void => {
    const id = `${kind}\0${name}`;
    const earlier = producedBy.get(id);
    const by = origin.note === undefined ? `${kind}.${name}` : `${formatPath(origin.entry.slice(0, 2))} (${origin.note})`;
    if (earlier !== undefined) {
      issues.push({ path: nameAt, message: `${kind}.${name} is defined twice: by ${earlier} and by ${by}`, at: 'key' });
      return;
    }
    producedBy.set(id, by);
    const result = instantiate(entry, origin, vars, templates, issues);
    origins.set(id, result.origin);
    if (!result.ok) failed.add(id);
    expanded[kind][name] = result.fields;
  };

  for (const kind of KINDS) {
    const written = top[kind];
    if (!isPlainMapping(written)) continue;
    for (const [name, entry] of Object.entries(written)) {
      if (!isPlainMapping(entry)) {
        expanded[kind][name] = entry;
        continue;
      }
      add(kind, name, entry, { entry: [kind, name], ownKeys: new Set(Object.keys(entry)) }, new Map(), [kind, name]);
    }
  }

  const sets = Array.isArray(top.generate) ? top.generate : [];
  sets.forEach((set: unknown, index) => {
    if (!isPlainMapping(set)) return;
    const at: KeyPath = ['generate', index];
    for (const vars of combinations(set.for, [...at, 'for'], issues)) {
      const note = describeVariables(vars);
      for (const kind of KINDS) {
        const entries = set[kind];
        if (!isPlainMapping(entries)) continue;
        for (const [pattern, entry] of Object.entries(entries)) {
          const entryPath: KeyPath = [...at, kind, pattern];
          const name = substitute(pattern, vars);
          if (!name.ok || typeof name.value !== 'string') {
            issues.push({ path: entryPath, message: name.ok ? 'a name must be text' : name.message, at: 'key' });
            continue;
          }
          if (!isPlainMapping(entry)) continue; // the schema reports it once, at the set
          add(kind, name.value, entry, { entry: entryPath, ownKeys: new Set(Object.keys(entry)), note }, vars, entryPath);
        }
      }
    }
  });

  return {
    data: { ...top, ...(hasEntries(top, 'feeds', sets) ? { feeds: expanded.feeds } : {}), ...(hasEntries(top, 'streams', sets) ? { streams: expanded.streams } : {}) },
    issues,
    translate: (issue) => translate(issue, origins, failed),
  };
}

/** Keep a missing or malformed feeds:/streams: as written when nothing is generated, for the schema to judge. */
function hasEntries(top: Fields, kind: EntryKind, sets: unknown[]): boolean {
  return isPlainMapping(top[kind]) || sets.some((set) => isPlainMapping(set) && isPlainMapping(set[kind]));
}

function readTemplates(value: unknown, issues: PathIssue[]): Map<string, Template> {
  const templates = new Map<string, Template>();
  if (!isPlainMapping(value)) return templates;
  for (const [name, written] of Object.entries(value)) {
    if (!isPlainMapping(written)) continue;
    const path: KeyPath = ['templates', name];
    const params = new Map<string, Scalar | null>();
    if (isPlainMapping(written.params)) {
      for (const [param, fallback] of Object.entries(written.params)) {
        if (RESERVED_NAMESPACES.includes(param)) {
          issues.push({ path: [...path, 'params', param], message: `"${param}" is reserved (\${${param}.NAME} names a feed's pipe)`, at: 'key' });
        } else if (fallback === null || isScalar(fallback)) {
          params.set(param, fallback);
        }
      }
    }
    const body = Object.fromEntries(Object.entries(written).filter(([key]) => key !== 'params'));
    let broken = false;
    // A placeholder the template cannot fill is its author's mistake: say so once, here, not at every use.
    for (const [key, inner] of Object.entries(body)) {
      const used = placeholdersDeep(inner);
      const unknown = used.names.find((placeholder) => !params.has(variableOf(placeholder)));
      if (used.malformed !== undefined || unknown !== undefined) broken = true;
      if (used.malformed !== undefined) issues.push({ path: [...path, key], message: used.malformed });
      else if (unknown !== undefined) {
        const known = params.size === 0 ? 'the template has no params' : `params: ${[...params.keys()].join(', ')}`;
        issues.push({ path: [...path, key], message: `unknown placeholder \${${unknown}} (${known})` });
      }
    }
    templates.set(name, { path, params, body, broken });
  }
  return templates;
}

type Instance = { ok: boolean; fields: Fields; origin: Origin };

/**
 * One entry as the rest of voyandz sees it. Entries that neither use a
 * template nor come from a set are returned as written: a `${HOME}` in an
 * original config's `sh -c '…'` must keep meaning what it meant.
 */
function instantiate(entry: Fields, origin: Origin, vars: Variables, templates: Map<string, Template>, issues: PathIssue[]): Instance {
  const { template: templateName, args, ...own } = entry;
  if (templateName === undefined) {
    if (args !== undefined) {
      issues.push({ path: [...origin.entry, 'args'], message: 'args: fills the params of a template: add template: NAME', at: 'key' });
      return { ok: false, fields: own, origin };
    }
    if (vars.size === 0) return { ok: true, fields: own, origin };
    const fields = substituteFields(own, vars, origin.entry, issues);
    return { ok: fields !== undefined, fields: fields ?? own, origin };
  }
  const template = typeof templateName === 'string' ? templates.get(templateName) : undefined;
  if (template === undefined) {
    if (typeof templateName === 'string') {
      const known = [...templates.keys()];
      const hint = closest(templateName, known);
      const list = known.length === 0 ? '(no templates are defined)' : hint ? `(did you mean "${hint}"?)` : `(known: ${known.join(', ')})`;
      issues.push({ path: [...origin.entry, 'template'], message: `unknown template "${templateName}" ${list}` });
    }
    return { ok: false, fields: own, origin };
  }

  const withTemplate: Origin = { ...origin, template: template.path };
  if (template.broken) return { ok: false, fields: own, origin: withTemplate };
  const params = bindArguments(template, args, vars, origin.entry, issues);
  if (params === undefined) return { ok: false, fields: own, origin: withTemplate };
  // Template values see only its params (checked once in readTemplates); the entry's own values also see the set's variables.
  const fromTemplate = substituteFields(template.body, params, template.path, issues);
  const fromEntry = substituteFields(own, new Map([...vars, ...params]), origin.entry, issues);
  if (fromTemplate === undefined || fromEntry === undefined) return { ok: false, fields: own, origin: withTemplate };
  return { ok: true, fields: { ...fromTemplate, ...fromEntry }, origin: withTemplate };
}

/** The template's params with this entry's args (themselves filled from the set's variables); undefined after an issue. */
function bindArguments(template: Template, args: unknown, vars: Variables, entryPath: KeyPath, issues: PathIssue[]): Map<string, Scalar> | undefined {
  const given = isPlainMapping(args) ? args : {};
  const params = new Map<string, Scalar>();
  let ok = true;
  const templateName = String(template.path[1]);
  for (const [name, value] of Object.entries(given)) {
    if (!template.params.has(name)) {
      const hint = closest(name, [...template.params.keys()]);
      const known = template.params.size === 0 ? 'it has none' : hint ? `did you mean "${hint}"?` : `it has: ${[...template.params.keys()].join(', ')}`;
      issues.push({ path: [...entryPath, 'args', name], message: `template ${templateName} has no parameter "${name}" (${known})`, at: 'key' });
      ok = false;
      continue;
    }
    const filled = substituteDeep(value, vars);
    if (!filled.ok) {
      issues.push({ path: [...entryPath, 'args', name], message: filled.message });
      ok = false;
    } else if (isScalar(filled.value)) {
      params.set(name, filled.value);
    } // else: not a scalar, which the schema reports
  }
  const missing = [...template.params].filter(([name, fallback]) => fallback === null && !Object.hasOwn(given, name)).map(([name]) => name);
  if (missing.length > 0) {
    const list = missing.map((name) => `"${name}"`).join(', ');
    issues.push({ path: [...entryPath, 'template'], message: `template ${templateName} needs ${missing.length === 1 ? 'argument' : 'arguments'} ${list}: add args: { ${missing.map((name) => `${name}: …`).join(', ')} }` });
    ok = false;
  }
  for (const [name, fallback] of template.params) if (!params.has(name) && fallback !== null) params.set(name, fallback);
  return ok ? params : undefined;
}

function substituteFields(fields: Fields, vars: Variables, at: KeyPath, issues: PathIssue[]): Fields | undefined {
  const out: Fields = {};
  let ok = true;
  for (const [key, value] of Object.entries(fields)) {
    const done = substituteDeep(value, vars);
    if (done.ok) out[key] = done.value;
    else {
      issues.push({ path: [...at, key], message: done.message });
      ok = false;
    }
  }
  return ok ? out : undefined;
}

/** The product of a set's `for:` lists, first variable outermost. */
function combinations(spec: unknown, at: KeyPath, issues: PathIssue[]): Variables[] {
  if (!isPlainMapping(spec)) return []; // the schema reports a missing or malformed for:
  const axes: [string, VariableValue[]][] = [];
  for (const [name, values] of Object.entries(spec)) {
    if (RESERVED_NAMESPACES.includes(name)) {
      issues.push({ path: [...at, name], message: `"${name}" is reserved (\${${name}.NAME} names a feed's pipe)`, at: 'key' });
      return [];
    }
    const list = valuesOf(values);
    if (list === undefined) return []; // the schema reports it
    if (typeof list === 'string') {
      issues.push({ path: [...at, name], message: list });
      return [];
    }
    axes.push([name, list]);
  }
  const size = axes.reduce((product, [, values]) => product * values.length, 1);
  if (size > MAX_SET_SIZE) {
    issues.push({ path: at, message: `expands to ${size} combinations; at most ${MAX_SET_SIZE}` });
    return [];
  }
  let result: Map<string, VariableValue>[] = [new Map<string, VariableValue>()];
  for (const [name, values] of axes) {
    result = result.flatMap((vars) => values.map((value) => new Map<string, VariableValue>([...vars, [name, value]])));
  }
  return axes.length === 0 ? [] : result;
}

/** A list of scalars or of mappings of scalars, or a range "1..8" ("01..08" keeps the zeros); a string is a message. */
function valuesOf(values: unknown): VariableValue[] | string | undefined {
  if (Array.isArray(values)) {
    return values.every((value) => isScalar(value) || (isPlainMapping(value) && Object.values(value).every(isScalar)))
      ? (values as VariableValue[])
      : undefined;
  }
  if (typeof values !== 'string') return undefined;
  const range = RANGE.exec(values.trim());
  if (range === null) return undefined;
  const [from, to] = [Number(range[1]), Number(range[2])];
  if (to < from) return `range ${values} is empty: write the smaller number first`;
  if (to - from >= MAX_SET_SIZE) return `range ${values} has more than ${MAX_SET_SIZE} values`;
  const width = /^-?0\d/.test(range[1]) ? range[1].replace('-', '').length : 0;
  return Array.from({ length: to - from + 1 }, (_, i) => {
    const n = from + i;
    return width === 0 ? n : `${n < 0 ? '-' : ''}${String(Math.abs(n)).padStart(width, '0')}`;
  });
}

function describeVariables(vars: Variables): string {
  return [...vars]
    .map(([name, value]) => `${name}=${typeof value === 'object' ? `{${Object.values(value)[0] ?? ''}…}` : String(value)}`)
    .join(', ');
}

function translate(issue: PathIssue, origins: Map<string, Origin>, failed: ReadonlySet<string>): PathIssue | undefined {
  const [kind, , key, ...deeper] = issue.path;
  const name = issue.path.at(1);
  if ((kind !== 'feeds' && kind !== 'streams') || name === undefined) return issue;
  const id = `${kind}\0${String(name)}`;
  const origin = origins.get(id);
  if (origin === undefined) return issue;
  if (failed.has(id)) return undefined;
  const template = issue.path.length > 2 && !origin.ownKeys.has(String(key)) ? origin.template : undefined;
  const base = template ?? origin.entry;
  const source = issue.path.length > 2 ? [...base, key, ...deeper] : base;
  return { ...issue, source, ...(origin.note === undefined ? {} : { note: origin.note }) };
}

/** A set reports a problem of its entries once, not once per generated instance. */
export function dedupe(issues: PathIssue[]): PathIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${JSON.stringify(issue.source ?? issue.path)}\0${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function isScalar(value: unknown): value is Scalar {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}
