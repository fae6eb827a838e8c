/**
 * The APNs provider token through the real apns2 client (ApnsSender) against the fake APNs server:
 * one token is reused for many pushes, refreshed after 55 minutes (inside Apple's 20–60 minute
 * window), and the fake refuses a key's token that changes again within 20 minutes, as Apple does
 * (429 TooManyProviderTokenUpdates). apns2 reads `Date.now()` for the token's age and has no clock
 * option, so the wall clock is faked (Date only: timers and sockets stay real).
 */
import { ApnsSender, type PushJob } from '@herald/push';
import { jest } from '@jest/globals';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { ApnsCredential, DeviceRecord } from '@herald/control';
import { FakeApnsServer } from './fake-apns.js';
import { createTestCert, type TestCert } from './test-cert.js';

const MIN = 60_000;

function device(token: string): DeviceRecord {
  return {
    appId: 'tok',
    platform: 'apns',
    token,
    userId: 'u1',
    topics: [],
    createdAt: new Date(0),
    updatedAt: new Date(0),
  };
}

function job(n: number): PushJob {
  return {
    v: 1,
    id: `msg_${n}`,
    app: 'tok',
    user: 'u1',
    policy: 'always',
    at: 0,
    attempt: 0,
    push: { title: 't' },
  };
}

describe('APNs provider tokens (apns2 against the fake APNs server)', () => {
  let cert: TestCert;
  let apns: FakeApnsServer;
  let credential: ApnsCredential;
  const senders: ApnsSender[] = [];

  beforeAll(async () => {
    cert = createTestCert();
    apns = await new FakeApnsServer(cert).listen();
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    apns.addKey('TEAMTOKEN1', 'KEYTOKEN01', ec.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    credential = {
      provider: 'apns',
      keyP8: ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      keyId: 'KEYTOKEN01',
      teamId: 'TEAMTOKEN1',
      bundleId: 'com.example.tok',
      environment: 'sandbox',
    };
    jest.useFakeTimers({
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'requestAnimationFrame',
        'cancelAnimationFrame',
        'requestIdleCallback',
        'cancelIdleCallback',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });
  });

  afterAll(async () => {
    jest.useRealTimers();
    await Promise.all(senders.map((s) => s.close()));
    await apns?.close();
    cert?.dispose();
  });

  function sender(): ApnsSender {
    const s = new ApnsSender(
      { apns: async () => credential, fcm: async () => undefined },
      { endpoint: apns.origin, ca: cert.cert, timeoutMs: 5000 },
    );
    senders.push(s);
    return s;
  }

  it('reuses one token for many pushes, refreshes it before 60 minutes, and not within 20', async () => {
    const t0 = Date.now();
    jest.setSystemTime(t0);
    const s = sender();
    const tokens = Array.from({ length: 10 }, () => randomBytes(32).toString('hex'));
    const first = await Promise.all(tokens.map((t, i) => s.send(device(t), job(i))));
    expect(first.every((o) => o.kind === 'sent')).toBe(true);
    expect(apns.providerTokens.entries).toHaveLength(1);

    // 21 and 54 minutes later: still the same token (no update within Apple's 20 minutes).
    for (const at of [21 * MIN, 54 * MIN]) {
      jest.setSystemTime(t0 + at);
      expect(await s.send(device(tokens[0]), job(100 + at))).toEqual({ kind: 'sent' });
    }
    expect(apns.providerTokens.entries).toHaveLength(1);

    // 56 minutes: a fresh token, before the old one reaches Apple's one-hour limit.
    jest.setSystemTime(t0 + 56 * MIN);
    expect(await s.send(device(tokens[1]), job(200))).toEqual({ kind: 'sent' });
    const [a, b] = apns.providerTokens.entries;
    expect(b).toMatchObject({ keyId: 'KEYTOKEN01', accepted: true });
    const ageSeconds = b.iat - a.iat;
    expect(ageSeconds).toBeGreaterThanOrEqual(20 * 60);
    expect(ageSeconds).toBeLessThan(60 * 60);
    const used = new Set(apns.requests.entries.map((r) => r.providerToken));
    expect(used.size).toBe(2);
  });

  it('answers 429 TooManyProviderTokenUpdates to a key whose token changes within 20 minutes', async () => {
    // A second client of the same key (as a dispatcher that built a client per push would) signs
    // its own token a minute after the last change: refused, and the sender retries later.
    jest.setSystemTime(Date.now() + MIN);
    const outcome = await sender().send(device(randomBytes(32).toString('hex')), job(300));
    expect(outcome).toMatchObject({ kind: 'retry', reason: 'rate_limited' });
    expect(apns.requests.entries.at(-1)).toMatchObject({
      status: 429,
      reason: 'TooManyProviderTokenUpdates',
    });
    expect(apns.providerTokens.entries.at(-1)).toMatchObject({ accepted: false });
  });
});
