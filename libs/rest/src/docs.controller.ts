import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Controller, Get, Header, Param, StreamableFile } from '@nestjs/common';
import { ErrorCode, HeraldError } from '@herald/protocol';
import { openApiJson } from './openapi.js';

export const OPENAPI_PATH = '/v1/openapi.json';

/** The Swagger UI files served from the swagger-ui-dist package (no CDN), by name and type. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** Ours instead of the package's (which points at the petstore): loads this API's document. */
const INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(OPENAPI_PATH)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
};
`;

const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Herald REST API</title>
    <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css" />
    <link rel="stylesheet" type="text/css" href="/docs/index.css" />
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="/docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="/docs/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
`;

/** No inline script and no third-party origin: the page works under a strict CSP. */
const PAGE_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; " +
  "connect-src 'self'; frame-ancestors 'none'";

let assetDir: string | undefined;

/** Resolved through the package's package.json, so no code of the (browser) bundle is loaded here. */
function swaggerUiDir(): string {
  assetDir ??= dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  return assetDir;
}

/** The OpenAPI document and its viewer; both public, like the API reference of any hosted service. */
@Controller()
export class DocsController {
  @Get(OPENAPI_PATH.slice(1))
  @Header('Content-Type', 'application/json; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  openapi(): string {
    return openApiJson();
  }

  @Get('docs')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', PAGE_CSP)
  @Header('Cache-Control', 'no-cache')
  page(): string {
    return PAGE;
  }

  @Get('docs/:file')
  @Header('Cache-Control', 'public, max-age=3600')
  @Header('X-Content-Type-Options', 'nosniff')
  asset(@Param('file') file: string): StreamableFile {
    if (file === 'swagger-initializer.js') {
      return new StreamableFile(Buffer.from(INITIALIZER, 'utf8'), { type: 'text/javascript; charset=utf-8' });
    }
    // Only the names listed (an own-property lookup): no path from the request reaches the file system.
    const type = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (type === undefined) throw new HeraldError(ErrorCode.METHOD_NOT_FOUND, 'no such file');
    return new StreamableFile(createReadStream(join(swaggerUiDir(), file)), { type });
  }
}
