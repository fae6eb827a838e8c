import { generateKeyPairSync } from 'node:crypto';
import { formatIssues } from './load-config.js';
import { appConfigSchema, nodeConfigSchema } from './schema.js';

const SECRET = 'Zq8vN3kP7wR2tY6uB1mC4xL9hJ5gF0dS';
const SECRET2 = 'aQ1sW2dE3rF4tG5yH6uJ7iK8oL9pZ0xC';
const app = (over: Record<string, unknown> = {}) => ({
  id: 'acme',
  keys: ['acme-key-1'],
  secrets: [SECRET],
  ...over,
});

function issues(input: unknown): string[] {
  const r = nodeConfigSchema.safeParse(input);
  return r.success ? [] : formatIssues(r.error.issues);
}

describe('nodeConfigSchema defaults', () => {
  it('fills every node default', () => {
    const c = nodeConfigSchema.parse({});
    expect(c).toMatchObject({
      env: 'development',
      http: { host: '0.0.0.0', port: 8080 },
      appsSource: 'file',
      apps: [],
      ws: {
        pingIntervalSeconds: 25,
        pongTimeoutSeconds: 10,
        connectTimeoutSeconds: 10,
        maxPayloadBytes: 1048576,
      },
      newConnectionsPerSecond: 1000,
      presence: { ttlSeconds: 60 },
      idempotency: { windowSeconds: 300 },
      tickets: { ttlSeconds: 60 },
      shutdown: { drainSeconds: 10 },
      log: { level: 'info' },
    });
    expect(c.nodeId).toMatch(/^.+-\d+-[0-9a-f]{6}$/);
    expect(nodeConfigSchema.parse({ nodeId: 'n1' }).nodeId).toBe('n1');
  });

  it('fills every app, limit and namespace default', () => {
    const a = appConfigSchema.parse(app());
    expect(a).toEqual({
      id: 'acme',
      name: 'acme',
      enabled: true,
      keys: ['acme-key-1'],
      secrets: [SECRET],
      publicKeys: [],
      allowedOrigins: [],
      personalChannel: true,
      namespaces: {
        '': {
          historySize: 0,
          historyTtlSeconds: 300,
          presence: false,
          joinLeave: false,
          allowPublish: false,
          allowPresence: true,
          allowHistory: true,
          private: false,
          recover: false, // normalised: no history, nothing to recover
        },
      },
      limits: {
        maxFrameBytes: 65536,
        maxBodyBytes: 65536,
        maxChannelsPerConnection: 128,
        maxConnections: 10000,
        maxConnectionsPerUser: 100,
        publishesPerSecond: 1000,
        clientPublishesPerSecond: 20,
        maxPresenceMembers: 1000,
        outboundQueueBytes: 1048576,
      },
    });
  });

  it('keeps recover when the namespace has history, and merges partial limits', () => {
    const a = appConfigSchema.parse(
      app({ namespaces: { chat: { historySize: 10 } }, limits: { maxFrameBytes: 1024 } }),
    );
    expect(a.namespaces['chat'].recover).toBe(true);
    expect(a.limits.maxFrameBytes).toBe(1024);
    expect(a.limits.maxBodyBytes).toBe(65536);
  });

  it('normalises the "default" namespace to "" and always has one', () => {
    const a = appConfigSchema.parse(app({ namespaces: { default: { presence: true }, chat: {} } }));
    expect(Object.keys(a.namespaces).sort()).toEqual(['', 'chat']);
    expect(a.namespaces[''].presence).toBe(true);
    expect(appConfigSchema.parse(app({ namespaces: { chat: {} } })).namespaces['']).toBeDefined();
  });
});

describe('HTTP transport settings', () => {
  it('defaults SSE, poll and TLS (off)', () => {
    const c = nodeConfigSchema.parse({});
    expect(c.http.tls).toEqual({});
    expect(c.sse).toEqual({ heartbeatSeconds: 15, retryMilliseconds: 3000 });
    expect(c.poll).toEqual({ holdSeconds: 25, sessionIdleSeconds: 30 });
  });

  it('needs both TLS files or neither, and a heartbeat of at most 15 s', () => {
    expect(issues({ http: { tls: { certFile: 'c.pem' } } })).toEqual([
      'http.tls: set both certFile and keyFile, or neither',
    ]);
    expect(issues({ http: { tls: { certFile: 'c.pem', keyFile: 'k.pem' } } })).toEqual([]);
    expect(issues({ sse: { heartbeatSeconds: 16 } })[0]).toMatch(/^sse.heartbeatSeconds: Too big/);
  });
});

describe('nodeConfigSchema validation', () => {
  it.each([
    ['empty id', app({ id: '' }), 'apps[0].id: app id must be 1-64 characters'],
    ['long id', app({ id: 'a'.repeat(65) }), 'apps[0].id: app id must be 1-64 characters'],
    ['bad id chars', app({ id: 'acme/1' }), 'apps[0].id: app id must be'],
    ['no key', app({ keys: [] }), 'apps[0].keys: an app needs at least one client key'],
    ['bad key', app({ keys: ['short'] }), 'apps[0].keys[0]: client keys are 8-128 characters'],
    ['no secret', app({ secrets: [] }), 'apps[0].secrets: an app needs at least one secret'],
    ['short secret', app({ secrets: ['s'.repeat(31)] }), 'apps[0].secrets[0]: secrets must be at least 32'],
    [
      'three secrets',
      app({ secrets: [SECRET, SECRET2, SECRET + 'x'] }),
      'apps[0].secrets: at most 2 secrets',
    ],
    ['same secret twice', app({ secrets: [SECRET, SECRET] }), 'apps[0].secrets: secrets must be different'],
    [
      'duplicate key in app',
      app({ keys: ['acme-key-1', 'acme-key-1'] }),
      'apps[0].keys: client keys must be unique',
    ],
    ['zero frame', app({ limits: { maxFrameBytes: 0 } }), 'apps[0].limits.maxFrameBytes: Too small'],
    ['fractional rate', app({ limits: { publishesPerSecond: 1.5 } }), 'apps[0].limits.publishesPerSecond:'],
    [
      'negative connections',
      app({ limits: { maxConnections: -1 } }),
      'apps[0].limits.maxConnections: Too small',
    ],
    ['unknown limit', app({ limits: { maxFrames: 1 } }), 'apps[0].limits: Unrecognized key: "maxFrames"'],
    ['bad origin', app({ allowedOrigins: ['example.com'] }), 'apps[0].allowedOrigins[0]: origins are "*"'],
    ['origin with path', app({ allowedOrigins: ['https://a.com/x'] }), 'apps[0].allowedOrigins[0]:'],
    ['bad namespace name', app({ namespaces: { 'a:b': {} } }), 'apps[0].namespaces["a:b"]: namespace names'],
    [
      'both default spellings',
      app({ namespaces: { default: {}, '': {} } }),
      'apps[0].namespaces: both "" and "default"',
    ],
    [
      'joinLeave without presence',
      app({ namespaces: { chat: { joinLeave: true } } }),
      'apps[0].namespaces.chat.joinLeave: joinLeave requires presence',
    ],
    [
      'bad pem',
      app({ publicKeys: [{ pem: 'nope' }] }),
      'apps[0].publicKeys[0].pem: not a valid PEM public key',
    ],
  ])('%s', (_name, a, expected) => {
    expect(issues({ apps: [a] }).join('\n')).toContain(expected);
  });

  it('refuses duplicate app ids and client keys shared across apps', () => {
    const found = issues({
      apps: [app(), app({ keys: ['other-key-1'] }), app({ id: 'beta', keys: ['acme-key-1'] })],
    });
    expect(found).toContain('apps[1].id: duplicate app id "acme" (also apps[0])');
    expect(found).toContain(
      'apps[2].keys[0]: client key is already used by apps[0]; keys must be unique across apps',
    );
  });

  it('refuses unknown top-level keys, bad enums and ports', () => {
    const found = issues({ prot: 1, env: 'staging', http: { port: 70000 }, log: { level: 'trace' } });
    expect(found.some((i) => i.startsWith('(root): Unrecognized key: "prot"'))).toBe(true);
    expect(found.some((i) => i.startsWith('env:'))).toBe(true);
    expect(found.some((i) => i.startsWith('http.port:'))).toBe(true);
    expect(found.some((i) => i.startsWith('log.level:'))).toBe(true);
  });

  it('accepts RSA >= 2048 and EC P-256 public keys, refuses weak or other keys', () => {
    const pem = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) =>
      k.export({ type: 'spki', format: 'pem' }).toString();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    const rsaWeak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    const ec384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey;
    const ed = generateKeyPairSync('ed25519').publicKey;
    expect(
      issues({
        apps: [
          app({
            publicKeys: [
              { kid: 'r', pem: pem(rsa) },
              { kid: 'e', pem: pem(ec) },
            ],
          }),
        ],
      }),
    ).toEqual([]);
    expect(issues({ apps: [app({ publicKeys: [{ pem: pem(rsaWeak) }] })] }).join()).toContain(
      'at least 2048 bits',
    );
    expect(issues({ apps: [app({ publicKeys: [{ pem: pem(ec384) }] })] }).join()).toContain('curve P-256');
    expect(issues({ apps: [app({ publicKeys: [{ pem: pem(ed) }] })] }).join()).toContain(
      'unsupported public key type',
    );
    expect(
      issues({
        apps: [
          app({
            publicKeys: [
              { kid: 'k', pem: pem(rsa) },
              { kid: 'k', pem: pem(ec) },
            ],
          }),
        ],
      }).join(),
    ).toContain('public key ids (kid) must be unique');
  });

  it('accepts valid origin patterns', () => {
    expect(
      issues({
        apps: [
          app({
            allowedOrigins: ['*', 'https://a.example.com', 'https://*.example.com', 'http://localhost:3000'],
          }),
        ],
      }),
    ).toEqual([]);
  });

  it('reports every problem at once', () => {
    expect(issues({ apps: [app({ id: '', keys: [], secrets: [] })] })).toHaveLength(3);
  });
});
