/**
 * The JSON Schema of the config file, for editors (yaml-language-server:
 * completion, hover docs, validation as you type). Generated from the same
 * zod schema the loader validates with, so the two cannot drift apart;
 * config/voyandz.schema.json is its output, kept current by a test.
 */
import { z } from 'zod';
import { ConfigSchema } from './schema.js';

type JsonObject = { [key: string]: unknown };

function configJsonSchema(): JsonObject {
  const schema = z.toJSONSchema(ConfigSchema, { io: 'input', target: 'draft-7', unrepresentable: 'any' }) as JsonObject;
  return relaxTemplatedEntries(schema);
}

/**
 * The loader checks an entry after its template is filled in; an editor
 * sees it before. An entry naming a template gets its required keys from
 * there, so it needs either them or `template`.
 */
function relaxTemplatedEntries(node: unknown): JsonObject {
  const visit = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(visit);
    if (typeof value !== 'object' || value === null) return value;
    const object: JsonObject = Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, visit(inner)]));
    const properties = object.properties as JsonObject | undefined;
    const required = object.required as string[] | undefined;
    if (properties?.template !== undefined && required !== undefined && required.length > 0) {
      delete object.required;
      object.anyOf = [{ required }, { required: ['template'] }];
    }
    return object;
  };
  return visit(node) as JsonObject;
}

export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
