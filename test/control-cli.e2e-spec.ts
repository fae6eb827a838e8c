/**
 * The operator's path as shipped: the built standalone node on its embedded store (PGlite), driven
 * by the built `herald` CLI, with debug logging. Every secret the run produced (admin token, master
 * key, server secrets, webhook signing secret) is then searched for in everything the node wrote.
 * Needs `npm run build` first (the CI job builds before the e2e suites).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signHs256, TestClient, withTimeout } from '@herald/testing';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = `${ROOT}dist/apps/standalone/src/main.js`;
const CLI = `${ROOT}dist/apps/cli/src/main.js`;

describe('herald CLI against the built node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
  const adminToken = `adm_${randomBytes(24).toString('base64url')}`;
  const masterKey = randomBytes(32).toString('base64');
  let child: ChildProcess | undefined;
  let logs = '';
  let url = '';

  const env = (): NodeJS.ProcessEnv => {
    const out: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env))
      if (!k.startsWith('HERALD_') && k !== 'NODE_OPTIONS') out[k] = v;
    return out;
  };

  const herald = (...args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, ...args, '--url', url], {
      env: { ...env(), HERALD_ADMIN_TOKEN: adminToken },
      encoding: 'utf8',
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  beforeAll(async () => {
    for (const f of [MAIN, CLI])
      if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`);
    const proc = spawn(process.execPath, [MAIN], {
      cwd: dir,
      env: {
        ...env(),
        HERALD_PORT: '0',
        HERALD_HOST: '127.0.0.1',
        HERALD_LOG_LEVEL: 'debug',
        HERALD_ENV: 'production',
        HERALD_ADMIN_TOKEN: adminToken,
        HERALD_MASTER_KEY: masterKey,
        HERALD_DATA_DIR: join(dir, 'data'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    const collect = (c: Buffer) => (logs += c.toString('utf8'));
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    url = await withTimeout(
      new Promise<string>((resolve, reject) => {
        const onData = () => {
          const port = /"msg":"listening"/.test(logs)
            ? /"port":(\d+)/.exec(logs.slice(logs.indexOf('"msg":"listening"') - 200))?.[1]
            : undefined;
          if (port) {
            proc.stdout?.off('data', onData);
            resolve(`http://127.0.0.1:${port}`);
          }
        };
        proc.stdout?.on('data', onData);
        proc.once('exit', (code) => reject(new Error(`node exited (${code}):\n${logs}`)));
      }),
      30_000,
      'node did not start',
    );
  }, 40_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await withTimeout(exited, 15_000, 'node did not stop');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('manages apps and keys, mints tokens, and no secret reaches the logs', async () => {
    const secrets: string[] = [adminToken, masterKey];

    const created = herald('apps', 'create', '--id', 'acme', '--name', 'Acme');
    expect(created).toMatchObject({ code: 0 });
    const key = /client key: (\S+)/.exec(created.out)![1];
    const first = /secret:\s+(\S+)/.exec(created.out)![1];
    const firstId = /secret id:\s+(\S+)/.exec(created.out)![1];
    secrets.push(first);

    expect(herald('apps', 'list').out).toMatch(/^acme\tenabled\tapi\tAcme$/m);
    expect(herald('apps', 'show', 'acme').out).not.toContain(first);

    const rotated = herald('keys', 'rotate', '--app', 'acme', '--secret', firstId, '--grace', '0');
    expect(rotated.code).toBe(0);
    const second = /secret:\s+(\S+)/.exec(rotated.out)![1];
    secrets.push(second);
    const listed = herald('keys', 'list', '--app', 'acme');
    expect(listed.out).toContain(`secret ${firstId}`);
    expect(listed.out).toContain('(not live)');
    for (const s of secrets) expect(listed.out).not.toContain(s);

    // The retired secret is refused, with its code, on the REST API and for tokens.
    const refused = await fetch(`${url}/v1/apps/acme/info`, {
      headers: { authorization: `Bearer ${first}` },
    });
    expect(refused.status).toBe(401);
    expect(await refused.text()).not.toContain(first);
    const ok = await fetch(`${url}/v1/apps/acme/info`, { headers: { authorization: `Bearer ${second}` } });
    expect(ok.status).toBe(200);
    const old = await TestClient.open(`${url.replace('http', 'ws')}/connection/websocket?key=${key}`);
    await expect(
      old.request({ cmd: 'connect', token: signHs256(first, { sub: 'u1', aud: 'acme' }) }),
    ).rejects.toMatchObject({
      code: 204,
    });
    await old.close();

    const token = herald('token', '--app', 'acme', '--user', 'cli-user');
    expect(token.code).toBe(0);
    const client = await TestClient.open(`${url.replace('http', 'ws')}/connection/websocket?key=${key}`);
    expect(await client.request({ cmd: 'connect', token: token.out.trim() })).toMatchObject({
      user: 'cli-user',
    });
    await client.close();

    // Errors: a body quoting a secret, a bad admin token, a file-less key revocation.
    const bad = await fetch(`${url}/v1/admin/apps/acme/secrets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scopes: [second], label: first }),
    });
    expect(bad.status).toBe(400);
    const badText = await bad.text();
    for (const s of secrets) expect(badText).not.toContain(s);
    expect(herald('keys', 'revoke', '--app', 'acme', '--secret', 'sec_nope').code).toBe(1);
    const wrongAdmin = spawnSync(
      process.execPath,
      [CLI, 'apps', 'list', '--url', url, '--admin-token', first],
      { env: env(), encoding: 'utf8' },
    );
    expect(wrongAdmin.status).toBe(1);
    expect(wrongAdmin.stderr).toContain('unauthorized');

    const hook = await fetch(`${url}/v1/admin/apps/acme/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://acme.io/hook', events: ['member_added'] }),
    });
    secrets.push(((await hook.json()) as { signing_secret: string }).signing_secret);

    expect(herald('apps', 'disable', 'acme').code).toBe(0);
    expect(herald('apps', 'delete', 'acme').code).toBe(2); // needs --yes
    expect(herald('apps', 'delete', 'acme', '--yes').code).toBe(0);

    expect(logs).toContain('"level":"debug"'); // the capture really holds debug output
    for (const s of secrets)
      expect({ secret: s.slice(0, 6), leaked: logs.includes(s) }).toEqual({
        secret: s.slice(0, 6),
        leaked: false,
      });
  }, 60_000);
});
