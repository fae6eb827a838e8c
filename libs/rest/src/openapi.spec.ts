import { ErrorCode } from '@herald/protocol';
import { buildOpenApiDocument, type JsonSchema } from './openapi.js';
import { ROUTES } from './routes.js';
import { restSchemas } from './schemas.js';

const doc = buildOpenApiDocument();

function op(path: string, method: string): JsonSchema {
  const o = doc.paths[path]?.[method];
  if (!o) throw new Error(`no ${method} ${path}`);
  return o;
}

describe('OpenAPI document', () => {
  it('is JSON and OpenAPI 3.1', () => {
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('has unique operation ids and one entry per route', () => {
    const ids = ROUTES.map((r) => r.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const ops = Object.values(doc.paths).flatMap((p) => Object.keys(p));
    expect(ops).toHaveLength(ROUTES.length);
  });

  it('names every registered schema, without per-schema $schema or $id', () => {
    const ids = Object.keys(doc.components.schemas);
    expect(ids).toEqual(expect.arrayContaining(['PublishRequest', 'BatchCommand', 'Error', 'HistoryResult']));
    for (const schema of Object.values(doc.components.schemas)) {
      expect(schema).not.toHaveProperty('$schema');
      expect(schema).not.toHaveProperty('$id');
    }
  });

  it('references request and response schemas instead of inlining them', () => {
    for (const route of ROUTES) {
      if (route.body) expect(restSchemas.get(route.body)?.id).toBeDefined();
      if (route.response) expect(restSchemas.get(route.response)?.id).toBeDefined();
    }
    expect(op('/v1/apps/{app}/publish', 'post').requestBody).toEqual({
      required: true,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/PublishRequest' } } },
    });
  });

  it('declares every path parameter of every template, and query parameters from the schemas', () => {
    for (const route of ROUTES) {
      const names = ((op(route.path, route.method).parameters as JsonSchema[]) ?? [])
        .filter((p) => p.in === 'path')
        .map((p) => p.name);
      expect(names).toEqual([...route.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]));
    }
    const history = op('/v1/apps/{app}/channels/{channel}/history', 'get').parameters as JsonSchema[];
    expect(history.filter((p) => p.in === 'query').map((p) => p.name)).toEqual([
      'limit',
      'since_offset',
      'since_epoch',
      'reverse',
    ]);
    expect(history.find((p) => p.name === 'limit')?.schema).toMatchObject({ type: 'integer', minimum: -1 });
  });

  it('secures the app routes only, with the bearer scheme', () => {
    for (const route of ROUTES) {
      expect(op(route.path, route.method).security).toEqual(route.auth ? [{ serverSecret: [] }] : []);
    }
  });

  it('documents errors by status with the Error schema and their headers', () => {
    const responses = op('/v1/apps/{app}/publish', 'post').responses as Record<string, JsonSchema>;
    expect(Object.keys(responses)).toEqual(['200', '400', '401', '404', '409', '413', '429', '500', '503']);
    expect(responses['429'].headers).toHaveProperty('Retry-After');
    expect(responses['503'].headers).toHaveProperty('Retry-After');
    expect(responses['401'].headers).toHaveProperty('WWW-Authenticate');
    expect(String(responses['404'].description)).toContain(ErrorCode.UNKNOWN_APP.name);
    expect(String(responses['404'].description)).toContain(ErrorCode.UNKNOWN_CHANNEL.name);
    expect(responses['400'].content).toEqual({
      'application/json': { schema: { $ref: '#/components/schemas/Error' } },
    });
    const ready = op('/readyz', 'get').responses as Record<string, JsonSchema>;
    expect(Object.keys(ready)).toEqual(['200', '503']);
  });
});
