import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, parseDocument, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { ENV_VARIABLES, nodeConfigSchema } from '@herald/config';

// The chart against the config schema, without Helm (test/helm.e2e-spec.ts runs the real Helm):
// every value the chart maps to a HERALD_* variable (`x-herald-env` in values.schema.json) names
// a variable of ENV_VARIABLES and is typed at least as strictly as the zod schema types its
// target; every HERALD_* name in the templates exists; every value is documented in values.yaml;
// `config.file` of the defaults and of every ci/ variant is a valid Herald config file.

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CHART = join(ROOT, 'helm/herald');

type JsonSchema = {
  type?: string;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  description?: string;
  'x-herald-env'?: string;
};

const valuesSchema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as JsonSchema;
const configSchema = z.toJSONSchema(nodeConfigSchema, {
  io: 'input',
  unrepresentable: 'any',
}) as JsonSchema;
const envByName = new Map(ENV_VARIABLES.map((v) => [v.name, v]));

/** Every schema node of values.schema.json with its values path. */
function walk(schema: JsonSchema, path: string[] = []): { path: string; schema: JsonSchema }[] {
  const out = [{ path: path.join('.'), schema }];
  for (const [key, child] of Object.entries(schema.properties ?? {}))
    out.push(...walk(child, [...path, key]));
  return out;
}

/** The config JSON schema at an ENV_VARIABLES target (`kafka.brokers`, `apps[].secrets[0]`). */
function configAt(target: string): JsonSchema {
  let node: JsonSchema = configSchema;
  for (const part of target.split('.')) {
    const m = /^([A-Za-z]+)(\[\d*\])?$/.exec(part);
    if (!m) throw new Error(`unparsable target ${target}`);
    const next = node.properties?.[m[1]];
    if (!next) throw new Error(`config schema has no ${target}`);
    node = m[2] ? (next.items as JsonSchema) : next;
  }
  return node;
}

interface Bounds {
  type?: string;
  enum?: unknown[];
  pattern?: string;
  lo?: number;
  hi?: number;
  minLength?: number;
  maxLength?: number;
  items?: Bounds;
}

/** Comparable constraints; "" alternatives dropped (the loader treats an empty variable as unset). */
function bounds(schema: JsonSchema): Bounds {
  const s = schema.anyOf ? (schema.anyOf.find((a) => a.const !== '') ?? {}) : schema;
  const out: Bounds = { type: s.type };
  if (s.enum) out.enum = s.enum;
  if (s.pattern) out.pattern = s.pattern;
  if (s.type === 'integer' || s.type === 'number') {
    if (s.minimum !== undefined) out.lo = s.minimum;
    if (s.exclusiveMinimum !== undefined) out.lo = s.exclusiveMinimum + 1;
    if (s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER) out.hi = s.maximum;
    if (s.exclusiveMaximum !== undefined) out.hi = s.exclusiveMaximum - 1;
  }
  if (s.minLength !== undefined) out.minLength = s.minLength;
  if (s.maxLength !== undefined) out.maxLength = s.maxLength;
  if (s.items) out.items = bounds(s.items);
  return out;
}

/** Why the chart's constraints are looser than the config's, or [] when at least as strict. */
function looser(chart: Bounds, config: Bounds, where: string): string[] {
  const out: string[] = [];
  if (chart.type !== config.type) out.push(`${where}: type ${chart.type}, config ${config.type}`);
  if (config.enum && !(chart.enum ?? []).every((v) => config.enum?.includes(v)))
    out.push(`${where}: enum ${JSON.stringify(chart.enum)} not within ${JSON.stringify(config.enum)}`);
  if (config.enum && !chart.enum) out.push(`${where}: no enum, config has ${JSON.stringify(config.enum)}`);
  if (config.pattern !== undefined && chart.pattern !== config.pattern)
    out.push(`${where}: pattern ${chart.pattern}, config ${config.pattern}`);
  if (config.lo !== undefined && (chart.lo === undefined || chart.lo < config.lo))
    out.push(`${where}: lower bound ${chart.lo}, config ${config.lo}`);
  if (config.hi !== undefined && (chart.hi === undefined || chart.hi > config.hi))
    out.push(`${where}: upper bound ${chart.hi}, config ${config.hi}`);
  if (config.minLength !== undefined && (chart.minLength ?? 0) < config.minLength)
    out.push(`${where}: minLength ${chart.minLength}, config ${config.minLength}`);
  if (config.maxLength !== undefined && (chart.maxLength ?? Infinity) > config.maxLength)
    out.push(`${where}: maxLength ${chart.maxLength}, config ${config.maxLength}`);
  if (config.items) {
    if (!chart.items) out.push(`${where}: no item schema`);
    else out.push(...looser(chart.items, config.items, `${where}[]`));
  }
  return out;
}

const mapped = walk(valuesSchema).filter((n) => n.schema['x-herald-env'] !== undefined);

describe('helm/herald values.schema.json against libs/config', () => {
  it('maps values to HERALD_* variables that exist', () => {
    expect(mapped.length).toBeGreaterThan(15);
    const unknown = mapped.filter((n) => !envByName.has(n.schema['x-herald-env'] ?? ''));
    expect(unknown.map((n) => `${n.path} -> ${n.schema['x-herald-env']}`)).toEqual([]);
  });

  it('types every mapped value at least as strictly as the config schema types its target', () => {
    const problems: string[] = [];
    for (const { path, schema } of mapped) {
      const variable = envByName.get(schema['x-herald-env'] ?? '');
      if (!variable || variable.target.startsWith('(')) continue; // HERALD_CONFIG, HERALD_MASTER_KEY
      let target = configAt(variable.target);
      const chart = bounds(schema);
      // One variable sets one element of a list (HERALD_APP_KEY -> apps[].keys).
      if (target.type === 'array' && chart.type === 'string' && target.items) target = target.items;
      // A list variable is comma-separated; the chart takes the list.
      problems.push(...looser(chart, bounds(target), `${path} (${variable.name} -> ${variable.target})`));
    }
    expect(problems).toEqual([]);
  });

  it('names only HERALD_* variables of ENV_VARIABLES in the templates, and uses every mapped one', () => {
    const dir = join(CHART, 'templates');
    const text = readdirSync(dir)
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
    const used = new Set(text.match(/\bHERALD_[A-Z0-9_]+\b/g) ?? []);
    expect([...used].filter((n) => !envByName.has(n))).toEqual([]);
    const unused = mapped.map((n) => n.schema['x-herald-env'] ?? '').filter((n) => !used.has(n));
    expect(unused).toEqual([]);
  });

  it('describes every property of the values schema', () => {
    const undescribed = walk(valuesSchema).filter((n) => n.path !== '' && !n.schema.description);
    expect(undescribed.map((n) => n.path)).toEqual([]);
  });

  it('documents every value in values.yaml with a comment (free-form Kubernetes objects excepted)', () => {
    const doc = parseDocument(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
    const missing: string[] = [];
    const visit = (node: YamlNode | null | undefined, schema: JsonSchema | undefined, path: string[]) => {
      if (!isMap(node)) return;
      node.items.forEach((pair, i) => {
        const key = String((pair.key as { value: unknown }).value);
        const keySchema = schema?.properties?.[key];
        const comment =
          (pair.key as { commentBefore?: string }).commentBefore ??
          (i === 0 ? (node.commentBefore ?? (path.length === 0 ? doc.commentBefore : undefined)) : undefined);
        // Inside a free-form object (resources, securityContext, labels...) the parent's comment
        // documents the Kubernetes type; only keys the schema lists need their own comment.
        if (schema?.properties && !comment) missing.push([...path, key].join('.'));
        visit(pair.value as YamlNode, keySchema, [...path, key]);
      });
    };
    visit(doc.contents as YamlNode, valuesSchema, []);
    expect(missing).toEqual([]);
  });

  it('accepts config.file of the defaults and of every ci/ variant as a Herald config file', () => {
    const files = ['values.yaml', ...readdirSync(join(CHART, 'ci')).map((f) => `ci/${f}`)];
    for (const file of files) {
      const values = parseDocument(readFileSync(join(CHART, file), 'utf8')).toJS() as {
        config?: { file?: unknown };
      };
      const result = nodeConfigSchema.safeParse(values.config?.file ?? {});
      expect({ file, issues: result.success ? [] : result.error.issues }).toEqual({ file, issues: [] });
    }
  });

  it('fails the drift check when the chart is looser than the config (self-test)', () => {
    const target = bounds(configAt('kafka.partitions'));
    expect(looser({ type: 'integer', lo: 0 }, target, 'x')).toEqual([
      'x: lower bound 0, config 1',
      'x: upper bound undefined, config 10000',
    ]);
    expect(
      looser({ type: 'string', enum: ['info', 'loud'] }, bounds(configAt('log.level')), 'y'),
    ).toHaveLength(1);
  });
});
