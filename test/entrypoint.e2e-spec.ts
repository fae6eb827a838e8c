import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestClient, withTimeout } from '@herald/testing';

// The built entry point as a newcomer runs it: `npm start` with no configuration prints a dev
// banner with a key, a secret, a token and a curl command, and those work as printed. Then the
// process stops cleanly on SIGTERM. The demo is there too, as the README promises a newcomer: the
// index at `/`, the chat and dashboard pages, the SDK bundle they load (dist/sdk/herald.js, which
// `npm run build` writes) and the dashboard's stats. Needs `npm run build` first (the CI job builds
// before e2e; `npm start` runs it as prestart).

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = `${ROOT}dist/apps/standalone/src/main.js`;

interface Banner {
  clientKey: string;
  secret: string;
  token: string;
  wsUrl: string;
  publishUrl: string;
}

/** Reads stdout until the banner's curl line is printed; resolves with what it printed. */
function readBanner(child: ChildProcess): Promise<Banner> {
  return new Promise<Banner>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const clientKey = /client key:\s+(\S+)/.exec(out)?.[1];
      const secret = /secret:\s+(\S+)/.exec(out)?.[1];
      const token = /token \(user [^)]*\):\s+(\S+)/.exec(out)?.[1];
      const wsUrl = /(ws:\/\/\S+\/connection\/websocket\?key=\S+)/.exec(out)?.[1];
      const publishUrl = /curl .*?(http:\/\/\S+\/publish)/.exec(out)?.[1];
      if (clientKey && secret && token && wsUrl && publishUrl) {
        child.stdout?.off('data', onData);
        resolve({ clientKey, secret, token, wsUrl, publishUrl });
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`herald exited (${code}) before printing the banner:\n${out}`)),
    );
  });
}

async function get(url: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

/** The demo pages as a browser would load them, and every script they load from this node. */
async function checkDemo(base: string, clientKey: string): Promise<void> {
  const index = await get(`${base}/`);
  expect(index).toMatchObject({ status: 200, type: expect.stringContaining('text/html') });
  const links = [...index.body.matchAll(/href="(\/demo\/[^"]+)"/g)].map((m) => m[1]);
  expect(links).toEqual(expect.arrayContaining(['/demo/chat', '/demo/dashboard']));
  const scripts = new Set<string>();
  for (const path of ['/demo/chat', '/demo/dashboard']) {
    const page = await get(`${base}${path}`);
    expect(page).toMatchObject({ status: 200, type: expect.stringContaining('text/html') });
    for (const m of page.body.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)) scripts.add(m[1]);
  }
  expect([...scripts]).toEqual(['/demo/herald.js']);
  const bundle = await get(`${base}/demo/herald.js`);
  expect(bundle).toMatchObject({ status: 200, type: expect.stringContaining('javascript') });
  // The IIFE build: it defines the global the pages use, with the client class in it.
  expect(bundle.body).toMatch(/var HeraldSDK\s*=/);
  expect(bundle.body).toContain('connection/websocket');
  // The pages' token endpoint answers for the dev app, and the dashboard's stats are JSON.
  const token = await fetch(`${base}/demo/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'newcomer' }),
  });
  expect(token.status).toBe(200);
  expect(await token.json()).toMatchObject({ key: clientKey, name: 'newcomer' });
  const stats = await get(`${base}/demo/stats`);
  expect(stats.status).toBe(200);
  expect(JSON.parse(stats.body)).toMatchObject({ app: 'dev', published: 0, delivered: 0 });
}

describe('built entry point (dist/apps/standalone/src/main.js)', () => {
  let child: ChildProcess | undefined;
  let stderr = '';

  let dataDir: string | undefined;
  afterAll(() => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    // Only if the test failed half-way: the normal path has already waited for the exit.
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('starts with no config, works with the printed credentials, and exits on SIGTERM', async () => {
    if (!existsSync(MAIN)) {
      throw new Error(`${MAIN} is missing: run \`npm run build\` before the e2e suite`);
    }
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HERALD_')) env[k] = v;
    env['HERALD_PORT'] = '0';
    env['HERALD_HOST'] = '127.0.0.1';
    // A fresh embedded store, as on a new clone (and never the developer's own data/ directory).
    dataDir = mkdtempSync(join(tmpdir(), 'herald-entry-'));
    env['HERALD_DATA_DIR'] = dataDir;
    delete env['NODE_OPTIONS'];
    const proc = spawn(process.execPath, [MAIN], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.once('exit', (code, signal) => resolve({ code, signal })),
    );

    const banner = await withTimeout(readBanner(proc), 15_000, `no dev banner (stderr: ${stderr})`);
    expect(banner.wsUrl).toContain(`key=${banner.clientKey}`);
    const base = new URL(banner.publishUrl).origin;
    await checkDemo(base, banner.clientKey);

    const client = await TestClient.open(banner.wsUrl);
    const connected = await client.request({ cmd: 'connect', token: banner.token });
    expect(connected.user).toBe('demo-user');
    await client.request({ cmd: 'subscribe', channel: 'chat:lobby' });

    const res = await fetch(banner.publishUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${banner.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'chat:lobby', data: { text: 'hello' } }),
    });
    expect(res.status).toBe(200);
    await res.text();
    expect((await client.nextPubs('chat:lobby', 1))[0].data).toEqual({ text: 'hello' });
    // The dashboard's numbers are the node's: that publish and its one delivery.
    const stats = (await (await fetch(`${base}/demo/stats`)).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ published: 1, delivered: 1, connections: 1 });

    // SIGTERM with a client connected: the drain closes it with 3001 and the process exits 0.
    proc.kill('SIGTERM');
    const [closeEvent, exit] = await withTimeout(
      Promise.all([client.closed, exited]),
      8_000,
      'herald did not exit after SIGTERM',
    );
    expect(closeEvent.code).toBe(3001);
    expect(exit).toEqual({ code: 0, signal: null });
  }, 40_000);
});
