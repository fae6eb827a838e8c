/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route table (routes.ts) and the zod
 * schemas the handlers validate with (schemas.ts). OpenAPI 3.1 schemas are JSON Schema 2020-12,
 * which is what z.toJSONSchema emits, so the schemas are used as they are.
 */
import { z } from 'zod';
import { ErrorCode, type ErrorDef } from '@herald/protocol';
import { COMMON_ERRORS, ROUTES, type RouteSpec } from './routes.js';
import { channelField, errorBody, restSchemas, userField } from './schemas.js';

export type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string };
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, JsonSchema>>;
  components: {
    schemas: Record<string, JsonSchema>;
    securitySchemes: Record<string, JsonSchema>;
  };
}

/** Any body is subject to the node-wide parser limit, and malformed JSON is a bad request. */
const BODY_ERRORS: readonly ErrorDef[] = [ErrorCode.BAD_REQUEST, ErrorCode.PAYLOAD_TOO_LARGE];

const SCHEMA_REF = '#/components/schemas/';
const SECURITY_SCHEME = 'serverSecret';

const TAGS: OpenApiDocument['tags'] = [
  { name: 'publishing', description: 'Publish into channels and to users.' },
  { name: 'channels', description: 'Active channels, presence and history.' },
  { name: 'users', description: 'Act on the connections of a user, on every node.' },
  { name: 'tokens', description: 'Revocation and connection tickets.' },
  { name: 'node', description: 'The node that answers.' },
  { name: 'meta', description: 'This document and its viewer (no authentication).' },
  { name: 'health', description: 'Probes for orchestrators (no authentication).' },
];

const DESCRIPTION = [
  'The server API of Herald: what a tenant backend calls to publish and to manage connections.',
  '',
  'Authenticate with `Authorization: Bearer <server secret>` of the app in the path (either of its two',
  'live secrets during rotation). Every error has the shape of the `Error` schema; the HTTP status and',
  '`code` come from one catalogue (docs/errors.md). `429` and `503` answers carry `Retry-After`.',
  'Field names are snake_case; unknown fields are refused.',
].join('\n');

function clean(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

function inline(schema: z.ZodType): JsonSchema {
  return clean(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema);
}

/** A `$ref` when the schema is named in the registry, otherwise the schema itself. */
function schemaOf(schema: z.ZodType): JsonSchema {
  const id = restSchemas.get(schema)?.id;
  return id === undefined ? inline(schema) : { $ref: SCHEMA_REF + id };
}

const PATH_PARAMS: Record<string, JsonSchema> = {
  app: {
    name: 'app',
    in: 'path',
    required: true,
    description: 'App (tenant) id.',
    schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
  },
  channel: {
    name: 'channel',
    in: 'path',
    required: true,
    description: 'Channel name, URL-encoded (`#` is `%23`, `:` may be sent as is or as `%3A`).',
    schema: inline(channelField),
  },
  user: {
    name: 'user',
    in: 'path',
    required: true,
    description: 'User id, URL-encoded.',
    schema: inline(userField),
  },
  file: {
    name: 'file',
    in: 'path',
    required: true,
    description: 'File name of a Swagger UI asset.',
    schema: { type: 'string' },
  },
};

/**
 * Routes served by another feature library (the admin API), documented in the same document: the
 * library registers them once at start (its module's onModuleInit), with the path parameters,
 * tags and security schemes they use. Their zod schemas go into `restSchemas` like ours.
 */
export interface OpenApiExtension {
  routes: readonly RouteSpec[];
  tags?: OpenApiDocument['tags'];
  pathParams?: Record<string, JsonSchema>;
  securitySchemes?: Record<string, JsonSchema>;
}

const extensions = new Set<OpenApiExtension>();

/** Adds an extension to the document (idempotent per object). */
export function registerOpenApiExtension(extension: OpenApiExtension): void {
  if (extensions.has(extension)) return;
  extensions.add(extension);
  cached = undefined;
}

/** Every documented route: ours, then the registered extensions'. */
export function documentedRoutes(): RouteSpec[] {
  return [...ROUTES, ...[...extensions].flatMap((e) => e.routes)];
}

function parameters(route: RouteSpec): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const m of route.path.matchAll(/\{([a-z_]+)\}/g)) {
    let p: JsonSchema | undefined = PATH_PARAMS[m[1]];
    for (const e of extensions) p ??= e.pathParams?.[m[1]];
    if (!p) throw new Error(`route ${route.path}: no description of path parameter ${m[1]}`);
    out.push(p);
  }
  if (route.query) {
    for (const [name, field] of Object.entries(route.query.shape)) {
      const schema = inline(field as z.ZodType);
      const { description, ...rest } = schema;
      out.push({ name, in: 'query', required: false, ...(description ? { description } : {}), schema: rest });
    }
  }
  if (route.idempotent) {
    out.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: 'Same as `idempotency_key` in the body; if both are sent they must be equal.',
      schema: { type: 'string', minLength: 1, maxLength: 255 },
    });
  }
  return out;
}

function errorResponses(route: RouteSpec): Record<string, JsonSchema> {
  const defs: ErrorDef[] = [...(route.auth ? COMMON_ERRORS : []), ...route.errors];
  if (route.body) defs.push(...BODY_ERRORS);
  const byStatus = new Map<number, Set<ErrorDef>>();
  for (const def of defs) {
    let set = byStatus.get(def.status);
    if (!set) byStatus.set(def.status, (set = new Set()));
    set.add(def);
  }
  const out: Record<string, JsonSchema> = {};
  for (const [status, set] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const list = [...set].sort((a, b) => a.code - b.code);
    const headers: Record<string, JsonSchema> = {};
    if (list.some((d) => d.name === 'unauthorized')) {
      headers['WWW-Authenticate'] = { description: '`Bearer realm="herald"`', schema: { type: 'string' } };
    }
    if (status === 429 || status === 503) {
      headers['Retry-After'] = {
        description: 'Seconds to wait before retrying (rounded up).',
        schema: { type: 'integer', minimum: 1 },
      };
    }
    out[String(status)] = {
      description: list.map((d) => `\`${d.name}\` (${d.code}): ${d.message}`).join('; '),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      content: { 'application/json': { schema: schemaOf(errorBody) } },
    };
  }
  return out;
}

function operation(route: RouteSpec): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  if (route.response) {
    responses['200'] = {
      description: 'OK',
      content: { 'application/json': { schema: schemaOf(route.response) } },
    };
    if (route.alsoAnswers) {
      responses[String(route.alsoAnswers.status)] = {
        description: route.alsoAnswers.description,
        content: { 'application/json': { schema: schemaOf(route.response) } },
      };
    }
  } else {
    responses['200'] = { description: 'OK', content: { [route.produces ?? 'application/json']: {} } };
  }
  Object.assign(responses, errorResponses(route));
  const op: JsonSchema = {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    parameters: parameters(route),
    responses,
  };
  if (route.body) {
    op.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(route.body) } } };
  }
  op.security = route.auth ? [{ [route.security ?? SECURITY_SCHEME]: [] }] : [];
  return op;
}

export function buildOpenApiDocument(version = '1.0.0'): OpenApiDocument {
  const generated = z.toJSONSchema(restSchemas, {
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => SCHEMA_REF + id,
  }) as { schemas: Record<string, JsonSchema> };
  const schemas: Record<string, JsonSchema> = {};
  for (const [id, schema] of Object.entries(generated.schemas)) schemas[id] = clean(schema);

  const paths: OpenApiDocument['paths'] = {};
  for (const route of documentedRoutes()) {
    paths[route.path] ??= {};
    paths[route.path][route.method] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Herald REST API', version, description: DESCRIPTION },
    tags: [...TAGS, ...[...extensions].flatMap((e) => e.tags ?? [])],
    paths,
    components: {
      schemas,
      securitySchemes: {
        [SECURITY_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          description: 'A server secret of the app in the path (`Authorization: Bearer <secret>`).',
        },
        ...Object.assign({}, ...[...extensions].map((e) => e.securitySchemes ?? {})),
      },
    },
  };
}

let cached: string | undefined;

/** The document serialized once per process (it only depends on code). */
export function openApiJson(): string {
  cached ??= JSON.stringify(buildOpenApiDocument());
  return cached;
}
