import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  DOCUMENTED_EXAMPLE_SECRETS,
  exampleSecretReason,
  loadNodeConfig,
} from './load-config.js';

const SECRET = 'Zq8vN3kP7wR2tY6uB1mC4xL9hJ5gF0dS';
const SECRET2 = 'aQ1sW2dE3rF4tG5yH6uJ7iK8oL9pZ0xC';
const dir = mkdtempSync(join(tmpdir(), 'herald-config-'));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function loadError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const yamlApps = `
env: production
http:
  port: 9000
apps:
  - id: acme
    keys: [acme-key-1]
    secrets: [${SECRET}]
    allowedOrigins: ["https://*.acme.io"]
    namespaces:
      default: { historySize: 10 }
      chat: { presence: true, joinLeave: true }
`;

describe('loadNodeConfig: files', () => {
  it('reads YAML named by HERALD_CONFIG', () => {
    const { config, devApp } = loadNodeConfig({ env: { HERALD_CONFIG: file('a.yaml', yamlApps) } });
    expect(devApp).toBeUndefined();
    expect(config.env).toBe('production');
    expect(config.http).toEqual({ host: '0.0.0.0', port: 9000, tls: {} });
    expect(config.appsSource).toBe('file');
    expect(config.apps[0].namespaces[''].historySize).toBe(10);
    expect(config.apps[0].namespaces['chat'].joinLeave).toBe(true);
  });

  it('reads .yml and JSON, resolving relative paths against cwd; --config wins over HERALD_CONFIG', () => {
    file('b.yml', 'http: { port: 1 }\n');
    file('c.json', JSON.stringify({ http: { port: 2 } }));
    expect(loadNodeConfig({ env: { HERALD_CONFIG: 'b.yml' }, cwd: dir }).config.http.port).toBe(1);
    expect(
      loadNodeConfig({ argv: ['--config', 'c.json'], env: { HERALD_CONFIG: 'b.yml' }, cwd: dir }).config.http
        .port,
    ).toBe(2);
    expect(loadNodeConfig({ argv: [`--config=${join(dir, 'c.json')}`], env: {} }).config.http.port).toBe(2);
  });

  it('treats an empty YAML file as no settings', () => {
    expect(loadNodeConfig({ env: { HERALD_CONFIG: file('empty.yaml', '') } }).config.http.port).toBe(8080);
  });

  it.each([
    ['unsupported extension', () => file('x.toml', 'a = 1'), 'unsupported extension ".toml"'],
    ['missing file', () => join(dir, 'missing.yaml'), 'cannot be read'],
    ['bad YAML', () => file('bad.yaml', 'a: [1,\n'), 'is not valid YAML'],
    ['bad JSON', () => file('bad.json', '{'), 'is not valid JSON'],
    ['array at top level', () => file('arr.json', '[1]'), 'must contain an object at the top level'],
  ])('refuses: %s', (_name, make, message) => {
    expect(loadError(() => loadNodeConfig({ env: { HERALD_CONFIG: make() } })).message).toContain(message);
  });

  it('refuses --config without a path', () => {
    expect(loadError(() => loadNodeConfig({ argv: ['--config'], env: {} })).message).toContain(
      '--config needs a path',
    );
  });

  it('lists every schema issue with its path', () => {
    const path = file(
      'invalid.yaml',
      `apps:\n  - id: acme\n    keys: [acme-key-1]\n    secrets: [${SECRET}]\n    limits: { maxFrameBytes: 0 }\nws: { pingIntervalSeconds: -1 }\n`,
    );
    const err = loadError(() => loadNodeConfig({ env: { HERALD_CONFIG: path } }));
    expect(err.problems).toEqual([
      'apps[0].limits.maxFrameBytes: Too small: expected number to be >0',
      'ws.pingIntervalSeconds: Too small: expected number to be >0',
    ]);
    expect(err.message).toContain('\n  - apps[0].limits.maxFrameBytes: Too small');
  });
});

describe('loadNodeConfig: environment', () => {
  it('overrides scalars from the environment over the file', () => {
    const { config } = loadNodeConfig({
      env: {
        HERALD_CONFIG: file('d.yaml', yamlApps),
        HERALD_ENV: 'development',
        HERALD_PORT: '7000',
        HERALD_HOST: '127.0.0.1',
        HERALD_NODE_ID: 'node-a',
        HERALD_LOG_LEVEL: 'debug',
      },
    });
    expect(config.env).toBe('development');
    expect(config.http).toEqual({ host: '127.0.0.1', port: 7000, tls: {} });
    expect(config.nodeId).toBe('node-a');
    expect(config.log.level).toBe('debug');
  });

  it('reports bad env values with the variable name', () => {
    expect(loadError(() => loadNodeConfig({ env: { HERALD_PORT: 'http' } })).problems).toEqual([
      'HERALD_PORT (http.port): expected an integer, got "http"',
    ]);
    expect(loadError(() => loadNodeConfig({ env: { HERALD_LOG_LEVEL: 'loud' } })).problems[0]).toMatch(
      /^log\.level:/,
    );
  });

  it('configures a single app from the environment', () => {
    const { config, devApp } = loadNodeConfig({
      env: {
        HERALD_APP_ID: 'acme',
        HERALD_APP_KEY: 'acme-key-1',
        HERALD_APP_SECRET: SECRET,
        HERALD_APP_SECRET_2: SECRET2,
        HERALD_APP_ORIGINS: 'https://a.acme.io, https://*.acme.io',
      },
    });
    expect(devApp).toBeUndefined();
    expect(config.appsSource).toBe('env');
    expect(config.apps).toHaveLength(1);
    expect(config.apps[0]).toMatchObject({
      id: 'acme',
      keys: ['acme-key-1'],
      secrets: [SECRET, SECRET2],
      allowedOrigins: ['https://a.acme.io', 'https://*.acme.io'],
    });
  });

  it('supplies credentials for the file app with the same id, keeping its options', () => {
    const { config } = loadNodeConfig({
      env: {
        HERALD_CONFIG: file('e.yaml', yamlApps),
        HERALD_APP_ID: 'acme',
        HERALD_APP_KEY: 'acme-key-2',
        HERALD_APP_SECRET: SECRET2,
      },
    });
    expect(config.apps).toHaveLength(1);
    expect(config.apps[0]).toMatchObject({
      keys: ['acme-key-2'],
      secrets: [SECRET2],
      allowedOrigins: ['https://*.acme.io'],
    });
    expect(config.apps[0].namespaces['chat'].presence).toBe(true);
  });

  it('adds the env app next to file apps with other ids', () => {
    const { config } = loadNodeConfig({
      env: {
        HERALD_CONFIG: file('f.yaml', yamlApps),
        HERALD_APP_ID: 'beta',
        HERALD_APP_KEY: 'beta-key-1',
        HERALD_APP_SECRET: SECRET2,
      },
    });
    expect(config.apps.map((a) => a.id)).toEqual(['acme', 'beta']);
  });

  it('requires key and secret with HERALD_APP_ID, and HERALD_APP_ID with the others', () => {
    expect(loadError(() => loadNodeConfig({ env: { HERALD_APP_ID: 'acme' } })).problems).toEqual([
      'HERALD_APP_KEY is required with HERALD_APP_ID',
      'HERALD_APP_SECRET is required with HERALD_APP_ID',
    ]);
    expect(loadError(() => loadNodeConfig({ env: { HERALD_APP_SECRET: SECRET } })).problems).toEqual([
      'HERALD_APP_SECRET set without HERALD_APP_ID',
    ]);
  });

  it('validates the env app like any other (short secret)', () => {
    const err = loadError(() =>
      loadNodeConfig({
        env: { HERALD_APP_ID: 'acme', HERALD_APP_KEY: 'acme-key-1', HERALD_APP_SECRET: 'short' },
      }),
    );
    expect(err.problems).toEqual(['apps[0].secrets[0]: secrets must be at least 32 characters']);
  });
});

describe('loadNodeConfig: development app', () => {
  it('generates a dev app when no app is configured in development', () => {
    const a = loadNodeConfig({ env: {} });
    const b = loadNodeConfig({ env: {} });
    expect(a.config.appsSource).toBe('dev');
    expect(a.config.apps).toEqual([a.devApp]);
    const dev = a.devApp!;
    expect(dev.id).toBe('dev');
    expect(dev.allowedOrigins).toEqual(['*']);
    expect(dev.secrets).toHaveLength(1);
    expect(dev.secrets[0]).toHaveLength(48);
    expect(dev.keys[0]).not.toBe(b.devApp!.keys[0]);
    expect(dev.secrets[0]).not.toBe(b.devApp!.secrets[0]);
    for (const ns of ['', 'chat']) {
      expect(dev.namespaces[ns]).toMatchObject({
        historySize: 100,
        presence: true,
        joinLeave: true,
        allowPublish: true,
        recover: true,
      });
    }
  });

  it('does not generate one when apps are configured', () => {
    const { config, devApp } = loadNodeConfig({
      env: { HERALD_APP_ID: 'acme', HERALD_APP_KEY: 'acme-key-1', HERALD_APP_SECRET: SECRET },
    });
    expect(devApp).toBeUndefined();
    expect(config.apps.map((a) => a.id)).toEqual(['acme']);
  });
});

describe('loadNodeConfig: production refusals', () => {
  it('refuses to start without apps, explaining how to configure one', () => {
    const err = loadError(() => loadNodeConfig({ env: { HERALD_ENV: 'production' } }));
    expect(err.message).toContain('Refusing to start in production without apps');
    expect(err.message).toContain('HERALD_APP_ID');
    expect(err.message.split('\n').length).toBeGreaterThan(2);
  });

  it.each([
    ['contains example', 'my-example-key-0123456789abcdefghij'],
    ['contains changeme', 'CHANGEME-0123456789abcdefghijklmno'],
    ['contains secret', 'SuperSecret-0123456789abcdefghijkl'],
    ['contains xxxx', 'abcdefghijklmnopqrstuvwxyzXXXXab'],
    ['documented example', DOCUMENTED_EXAMPLE_SECRETS[0]],
    ['few distinct characters', 'abcabcabcabcabcabcabcabcabcabcabcabc'],
  ])('refuses a secret that %s, without echoing it', (_name, secret) => {
    const err = loadError(() =>
      loadNodeConfig({
        env: {
          HERALD_ENV: 'production',
          HERALD_APP_ID: 'acme',
          HERALD_APP_KEY: 'acme-key-1',
          HERALD_APP_SECRET: secret,
        },
      }),
    );
    expect(err.message).toContain('Refusing to start in production with example or weak secrets');
    expect(err.problems[0]).toMatch(/^apps\[0\]\.secrets\[0\] \(app "acme"\) /);
    expect(err.message).not.toContain(secret);
  });

  it('every documented example secret is refused', () => {
    for (const s of DOCUMENTED_EXAMPLE_SECRETS) expect(exampleSecretReason(s)).toBeDefined();
  });

  it('starts with real secrets', () => {
    const { config } = loadNodeConfig({
      env: {
        HERALD_ENV: 'production',
        HERALD_APP_ID: 'acme',
        HERALD_APP_KEY: 'acme-key-1',
        HERALD_APP_SECRET: SECRET,
        HERALD_APP_SECRET_2: SECRET2,
      },
    });
    expect(config.env).toBe('production');
  });
});
