import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { buildOpenApiDocument, documentedRoutes, registerOpenApiExtension } from '@herald/rest';
import { AdminController } from './admin.controller.js';
import { ADMIN_OPENAPI, ADMIN_ROUTES, ADMIN_SECURITY } from './admin.routes.js';

function servedRoutes(): string[] {
  const base = String(Reflect.getMetadata(PATH_METADATA, AdminController));
  const proto = AdminController.prototype as unknown as Record<string, unknown>;
  return Object.getOwnPropertyNames(AdminController.prototype)
    .filter((name) => name !== 'constructor' && Reflect.hasMetadata(PATH_METADATA, proto[name] as object))
    .map((name) => {
      const handler = proto[name] as object;
      const path = String(Reflect.getMetadata(PATH_METADATA, handler));
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
      const full = `/${base}${path === '/' ? '' : `/${path}`}`.replace(/:([a-z]+)/g, '{$1}');
      return `${method} ${full}`;
    })
    .sort();
}

describe('admin API routes', () => {
  it('documents exactly the routes the controller serves', () => {
    const documented = ADMIN_ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`).sort();
    expect(servedRoutes()).toEqual(documented);
  });

  it('joins the OpenAPI document with its own security scheme and schemas', () => {
    registerOpenApiExtension(ADMIN_OPENAPI);
    registerOpenApiExtension(ADMIN_OPENAPI); // idempotent
    expect(documentedRoutes().filter((r) => r.security === ADMIN_SECURITY)).toHaveLength(ADMIN_ROUTES.length);
    const doc = buildOpenApiDocument();
    expect(doc.components.securitySchemes[ADMIN_SECURITY]).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/v1/admin/apps/{app}/secrets/{secret}/rotate']?.['post']).toMatchObject({
      operationId: 'adminRotateSecret',
      security: [{ [ADMIN_SECURITY]: [] }],
    });
    expect(doc.paths['/v1/admin/apps/{app}']?.['patch']).toBeDefined();
    expect(doc.components.schemas['AdminCreatedSecret']).toBeDefined();
    const ids = documentedRoutes().map((r) => r.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    // Every $ref resolves.
    const refs = JSON.stringify(doc).match(/#\/components\/schemas\/[A-Za-z]+/g) ?? [];
    for (const ref of refs) expect(doc.components.schemas[ref.split('/').pop() as string]).toBeDefined();
  });
});
