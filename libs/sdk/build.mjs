#!/usr/bin/env node
// The SDK's browser bundles (run by `npm run build`): dist/sdk/herald.js is an IIFE exposing the
// global `HeraldSDK` (for a plain <script> tag, as the demo pages use it), dist/sdk/herald.mjs an ES
// module. The ES module build for bundlers and Node is tsc's output (dist/libs/sdk/src).
// esbuild resolves @herald/protocol through tsconfig.json paths.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const common = {
  absWorkingDir: root,
  entryPoints: ['libs/sdk/src/index.ts'],
  bundle: true,
  platform: 'browser',
  target: 'es2020',
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
};
await Promise.all([
  build({ ...common, format: 'iife', globalName: 'HeraldSDK', outfile: 'dist/sdk/herald.js' }),
  build({ ...common, format: 'esm', outfile: 'dist/sdk/herald.mjs' }),
]);
