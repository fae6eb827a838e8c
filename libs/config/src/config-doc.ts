/**
 * Renders docs/configuration.md from the schema and the env table, so the reference cannot drift
 * from the code (config-doc.spec.ts fails when the committed page differs).
 */
import { z } from 'zod';
import { DOCUMENTED_EXAMPLE_SECRETS, ENV_VARIABLES } from './load-config.js';
import { nodeConfigSchema } from './schema.js';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
}

/**
 * Defaults z.toJSONSchema does not emit (it drops the prefault of an array whose items transform).
 * The spec checks each against the schema's real default, so this cannot go stale.
 */
export const JSON_SCHEMA_LOST_DEFAULTS: Readonly<Record<string, unknown>> = { apps: [] };

interface Row {
  key: string;
  type: string;
  required: boolean;
  default: string;
  description: string;
}

/** JSON Schema of a config file (input side: every defaulted key is optional). */
export function nodeConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(nodeConfigSchema, { io: 'input', unrepresentable: 'any' });
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.type === 'array') return s.items ? `${typeOf(s.items)}[]` : 'array';
  if (s.type === 'object' && typeof s.additionalProperties === 'object') return 'map';
  if (Array.isArray(s.type)) return s.type.join(' | ');
  return s.type ?? 'any';
}

function bounds(s: JsonSchema): string {
  const parts: string[] = [];
  if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}`);
  if (s.minimum !== undefined) parts.push(`>= ${s.minimum}`);
  if (s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER) parts.push(`<= ${s.maximum}`);
  if (s.minItems !== undefined) parts.push(`at least ${s.minItems}`);
  if (s.maxItems !== undefined) parts.push(`at most ${s.maxItems}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function walk(s: JsonSchema, prefix: string, required: boolean, rows: Row[]): void {
  if (prefix) {
    const def = s.default ?? JSON_SCHEMA_LOST_DEFAULTS[prefix];
    rows.push({
      key: prefix,
      type: typeOf(s),
      required: required && def === undefined,
      default: def === undefined ? '' : `\`${JSON.stringify(def)}\``,
      description: (s.description ?? '') + bounds(s),
    });
  }
  if (s.properties) {
    for (const [name, child] of Object.entries(s.properties)) {
      walk(child, prefix ? `${prefix}.${name}` : name, (s.required ?? []).includes(name), rows);
    }
  } else if (s.type === 'array' && s.items?.properties) {
    for (const [name, child] of Object.entries(s.items.properties)) {
      walk(child, `${prefix}[].${name}`, (s.items.required ?? []).includes(name), rows);
    }
  } else if (typeof s.additionalProperties === 'object' && s.additionalProperties.properties) {
    const item = s.additionalProperties;
    for (const [name, child] of Object.entries(item.properties ?? {})) {
      walk(child, `${prefix}.<name>.${name}`, (item.required ?? []).includes(name), rows);
    }
  }
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderConfigurationDoc(): string {
  const rows: Row[] = [];
  walk(nodeConfigJsonSchema() as JsonSchema, '', true, rows);
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated from libs/config/src/schema.ts and load-config.ts by renderConfigurationDoc().',
    '     Do not edit by hand: regenerate with',
    '     UPDATE_DOCS=1 node --experimental-vm-modules node_modules/jest/bin/jest.js libs/config/src/config-doc.spec.ts -->',
    '',
    'A node reads an optional YAML or JSON file named by `--config <path>` or `HERALD_CONFIG`, then',
    'applies the environment variables below (they win over the file), then validates everything',
    'and fills in defaults. Unknown keys are errors, and every problem is reported at once with its',
    'path, e.g. `apps[0].limits.maxFrameBytes: Too small: expected number to be >0`.',
    '',
    'In `development`, when no app is configured, the node generates an app `dev` with a random key',
    'and secret (printed at startup), allowed origins `*`, and a default and `chat` namespace with',
    'history (100), presence, join/leave and client publish enabled.',
    '',
    'In `production` the node refuses to start when no app is configured, or when any secret looks',
    'like an example: it contains `example`, `changeme`, `secret` or `xxxx` (any case), has fewer',
    'than 10 distinct characters, or is one of the example secrets used in these docs:',
    '',
    ...DOCUMENTED_EXAMPLE_SECRETS.map((s) => `- \`${s}\``),
    '',
    '## Keys',
    '',
    '`apps[]` is a list; `<name>` is a map key (a namespace name, or `default` for channels without',
    'a namespace). Keys with a default are optional.',
    '',
    '| Key | Type | Required | Default | Description |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| \`${r.key}\` | ${cell(r.type)} | ${r.required ? 'yes' : ''} | ${cell(r.default)} | ${cell(r.description)} |`,
    ),
    '',
    '## Environment variables',
    '',
    '| Variable | Sets | Description |',
    '|---|---|---|',
    ...ENV_VARIABLES.map((v) => `| \`${v.name}\` | \`${v.target}\` | ${cell(v.description)} |`),
    '',
  ];
  return lines.join('\n');
}
