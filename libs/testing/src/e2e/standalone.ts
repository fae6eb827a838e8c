/**
 * A real standalone node (`npm start` composition) started in this process with a config of the
 * test's own, for specs that need what the TestNode does not give them: the admin API and a durable
 * control store (PGlite) for apps created at run time, fake push providers, webhook settings.
 *
 * Why it exists: those specs each wrote the same `startNode({ role: 'standalone', ... })` block
 * with the same test defaults; one helper keeps the defaults in one place. The test's settings
 * replace whole sections of the defaults (as `TestNodeOptions.node` does).
 *
 * The standalone module is imported dynamically, as in test-node.ts, so unit tests that import
 * `@herald/testing` for its contract suites do not load the whole server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeConfigInput } from '@herald/config';
import type { RunningNode } from '@herald/runtime';

/** Parses `input` and starts a standalone node on it, serving WebSocket. */
export async function bootStandalone(input: NodeConfigInput): Promise<RunningNode> {
  // One at a time: jest's ESM loader fails ("not in cache") on concurrent imports of shared modules.
  const { nodeConfigSchema } = await import('@herald/config');
  const { startNode } = await import('@herald/runtime');
  const { StandaloneModule } = await import('../../../../apps/standalone/src/standalone.module.js');
  return startNode({
    role: 'standalone',
    module: (c) => StandaloneModule.forRoot(c),
    websocket: true,
    config: nodeConfigSchema.parse(input),
  });
}

/**
 * Starts a standalone node on loopback port 0 (development mode, silent log, a 1 s drain) with the
 * control plane in a PGlite database of its own (a temporary directory that `close` removes),
 * unless `overrides.control` says otherwise. `overrides` replace whole sections of these defaults.
 */
export async function startStandalone(overrides: NodeConfigInput = {}): Promise<RunningNode> {
  const dir = overrides.control ? undefined : mkdtempSync(join(tmpdir(), 'herald-e2e-standalone-'));
  try {
    const node = await bootStandalone({
      env: 'development',
      http: { host: '127.0.0.1', port: 0 },
      log: { level: 'silent' },
      // One session at most waits 1 s on shutdown; tests close their clients before the node.
      shutdown: { drainSeconds: 1 },
      ...(dir ? { control: { driver: 'pglite', dataDir: join(dir, 'data') } } : {}),
      ...overrides,
    });
    const close = node.close.bind(node);
    node.close = async () => {
      try {
        await close();
      } finally {
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
    };
    return node;
  } catch (err) {
    if (dir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
