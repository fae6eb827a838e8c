import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestClient, withTimeout } from '@herald/testing';

// The built entry point as a newcomer runs it: `npm start` with no configuration prints a dev
// banner with a key, a secret, a token and a curl command, and those work as printed. Then the
// process stops cleanly on SIGTERM. Needs `npm run build` first (the CI job builds before e2e).

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
