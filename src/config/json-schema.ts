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
  return requireProducers(schema);
}

/**
 * What the loader's cross-checks require of a feed or stream (pull-checks.ts),
 * which zod cannot say in JSON Schema: a command (a stream: and a mimetype),
 * or a pull, or a template to take them from. The loader checks an entry
 * after its template is filled in; an editor sees it before.
 */
function requireProducers(node: unknown): JsonObject {
  const visit = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(visit);
    if (typeof value !== 'object' || value === null) return value;
    const object: JsonObject = Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, visit(inner)]));
    const properties = object.properties as Partial<Record<string, JsonObject>> | undefined;
    if (properties?.command?.type === 'string' && properties.pull !== undefined) {
      const program = properties.mimetype === undefined ? ['command'] : ['command', 'mimetype'];
      object.anyOf = [{ required: program }, { required: ['pull'] }, ...(properties.template === undefined ? [] : [{ required: ['template'] }])];
      object.not = { required: ['command', 'pull'] };
    }
    return object;
  };
  return visit(node) as JsonObject;
}

export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
