/**
 * `${name}` placeholders in templated config values. `${cam.ip}` reads a
 * field of a mapping value; `$${` writes a literal `${` (for a shell variable
 * in `sh -c '…'`). `${feeds.NAME}` belongs to multi-feed streams and is left
 * for the stream resolver, whatever the variables are.
 */

/** A placeholder, or the `$${` escape. */
const TOKEN = /\$\$\{|\$\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*$/;

/** Namespaces resolved after templating (multi-feed pipes), never by a template variable. */
export const RESERVED_NAMESPACES: readonly string[] = ['feeds'];

export type Scalar = string | number | boolean;
/** A variable: a scalar, or a mapping of scalars read as `${var.field}`. */
export type VariableValue = Scalar | Readonly<Record<string, Scalar>>;
export type Variables = ReadonlyMap<string, VariableValue>;

export type Substituted = { ok: true; value: unknown } | { ok: false; message: string };

/** Every placeholder name in `text` (reserved namespaces excluded), or a message for a malformed one. */
function placeholdersIn(text: string): { names: string[]; malformed: string | undefined } {
  const names: string[] = [];
  let malformed: string | undefined;
  for (const match of text.matchAll(TOKEN)) {
    // The other alternative, `$${`, has no group.
    const inner = match.at(1);
    if (inner === undefined) continue;
    if (isReserved(inner)) continue;
    if (!NAME.test(inner)) malformed ??= `malformed placeholder \${${inner}} (write $\${ for a literal "\${")`;
    else names.push(inner);
  }
  return { names, malformed };
}

/**
 * Replaces the placeholders of `text`. A value that is exactly one
 * placeholder takes the variable's own type, so `max_lag: ${lag}` stays a
 * number.
 */
export function substitute(text: string, vars: Variables): Substituted {
  const whole = /^\$\{([^}]*)\}$/.exec(text);
  if (whole?.[1] !== undefined && !isReserved(whole[1]) && NAME.test(whole[1])) {
    const found = lookup(whole[1], vars);
    if (found === undefined) return { ok: false, message: unknownMessage(whole[1], vars) };
    if (typeof found === 'object') return { ok: false, message: mappingMessage(whole[1], found) };
    return { ok: true, value: found };
  }
  let problem: string | undefined;
  const value = text.replace(TOKEN, (token: string, inner: string | undefined) => {
    if (inner === undefined) return '${';
    if (isReserved(inner)) return token;
    if (!NAME.test(inner)) {
      problem ??= `malformed placeholder \${${inner}} (write $\${ for a literal "\${")`;
      return token;
    }
    const found = lookup(inner, vars);
    if (found === undefined) {
      problem ??= unknownMessage(inner, vars);
      return token;
    }
    if (typeof found === 'object') {
      problem ??= mappingMessage(inner, found);
      return token;
    }
    return String(found);
  });
  return problem === undefined ? { ok: true, value } : { ok: false, message: problem };
}

/** Substitutes every string inside `value` (mapping values and list items, not keys). */
export function substituteDeep(value: unknown, vars: Variables): Substituted {
  if (typeof value === 'string') return substitute(value, vars);
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (const item of value) {
      const done = substituteDeep(item, vars);
      if (!done.ok) return done;
      items.push(done.value);
    }
    return { ok: true, value: items };
  }
  if (isPlainMapping(value)) {
    const entries: [string, unknown][] = [];
    for (const [key, inner] of Object.entries(value)) {
      const done = substituteDeep(inner, vars);
      if (!done.ok) return done;
      entries.push([key, done.value]);
    }
    return { ok: true, value: Object.fromEntries(entries) };
  }
  return { ok: true, value };
}

/** Every placeholder used in the strings inside `value`. */
export function placeholdersDeep(value: unknown): { names: string[]; malformed: string | undefined } {
  if (typeof value === 'string') return placeholdersIn(value);
  const inner = Array.isArray(value) ? value : isPlainMapping(value) ? Object.values(value) : [];
  const names: string[] = [];
  let malformed: string | undefined;
  for (const item of inner) {
    const found = placeholdersDeep(item);
    names.push(...found.names);
    malformed ??= found.malformed;
  }
  return { names, malformed };
}

export function isPlainMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** `cam.ip` -> the variable `cam`, then its field. */
export function variableOf(name: string): string {
  return name.split('.')[0];
}

/** `${feeds.cam-1}` is reserved too: feed names may hold characters variable names may not. */
function isReserved(name: string): boolean {
  return RESERVED_NAMESPACES.some((namespace) => name.startsWith(`${namespace}.`));
}

function lookup(name: string, vars: Variables): VariableValue | undefined {
  const [head, ...fields] = name.split('.');
  let value: VariableValue | undefined = vars.get(head);
  for (const field of fields) {
    if (value === undefined || typeof value !== 'object') return undefined;
    value = Object.hasOwn(value, field) ? value[field] : undefined;
  }
  return value;
}

function mappingMessage(name: string, value: Readonly<Record<string, Scalar>>): string {
  return `\${${name}} is a mapping: name one of its fields, e.g. \${${name}.${Object.keys(value)[0] ?? 'field'}}`;
}

function unknownMessage(name: string, vars: Variables): string {
  const head = variableOf(name);
  const value = vars.get(head);
  if (value !== undefined && typeof value === 'object') {
    return `unknown placeholder \${${name}} (fields of ${head}: ${Object.keys(value).join(', ')})`;
  }
  if (value !== undefined) return `unknown placeholder \${${name}} (${head} is not a mapping)`;
  const known = [...vars.keys()];
  return `unknown placeholder \${${name}} ${known.length === 0 ? '(no variables here)' : `(known: ${known.join(', ')})`}`;
}
