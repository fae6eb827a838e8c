/**
 * FCM Retry-After through the real firebase-admin client (FcmSender) against the fake FCM server:
 * firebase-admin's errors carry no response headers, so the sender reads the header from Node's
 * HTTP diagnostics channels; these tests fail if that stops working.
 */
import { FcmSender, type PushJob } from '@herald/push';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { DeviceRecord, FcmCredential } from '@herald/control';
import { FakeFcmServer } from './fake-fcm.js';

function device(token: string): DeviceRecord {
  return {
    appId: 'fcmra',
    platform: 'fcm',
    token,
    userId: 'u1',
    topics: [],
    createdAt: new Date(0),
    updatedAt: new Date(0),
  };
}

const job: PushJob = {
  v: 1,
  id: 'msg_1',
  app: 'fcmra',
  user: 'u1',
  policy: 'always',
  at: 0,
  attempt: 0,
  push: { title: 't' },
};

describe('FCM Retry-After (firebase-admin against the fake FCM server)', () => {
  let fcm: FakeFcmServer;
  let sender: FcmSender;

  beforeAll(async () => {
    fcm = await new FakeFcmServer().listen();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const credential: FcmCredential = {
      provider: 'fcm',
      serviceAccount: {
        type: 'service_account',
        project_id: 'herald-fcmra',
        private_key_id: 'key-1',
        private_key: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        client_email: 'push@herald-fcmra.iam.gserviceaccount.com',
      },
    };
    fcm.addServiceAccount(
      credential.serviceAccount.client_email,
      'herald-fcmra',
      rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    );
    sender = new FcmSender(
      { apns: async () => undefined, fcm: async () => credential },
      { endpoint: fcm.origin, timeoutMs: 5000 },
    );
  });

  afterAll(async () => {
    await sender?.close();
    await fcm?.close();
  });

  it('returns the Retry-After of a 429 QUOTA_EXCEEDED, minutes long included', async () => {
    const t = `fcm_${randomBytes(12).toString('hex')}`;
    fcm.script(t, [{ status: 429, errorCode: 'QUOTA_EXCEEDED', retryAfter: '120' }]);
    expect(await sender.send(device(t), job)).toMatchObject({
      kind: 'retry',
      reason: 'rate_limited',
      retryAfterMs: 120_000,
    });
    // The next send succeeds and carries no stale Retry-After.
    expect(await sender.send(device(t), job)).toEqual({ kind: 'sent' });
  });

  it('has no Retry-After when the answer gave none, and keeps concurrent sends apart', async () => {
    const a = `fcm_${randomBytes(12).toString('hex')}`;
    const b = `fcm_${randomBytes(12).toString('hex')}`;
    fcm.script(a, [{ status: 429, errorCode: 'QUOTA_EXCEEDED', retryAfter: '7' }]);
    fcm.script(b, [{ status: 500, errorCode: 'INTERNAL' }]);
    const [ra, rb] = await Promise.all([sender.send(device(a), job), sender.send(device(b), job)]);
    expect(ra).toMatchObject({ kind: 'retry', reason: 'rate_limited', retryAfterMs: 7000 });
    expect(rb).toMatchObject({ kind: 'retry', reason: 'provider_error' });
    expect(rb).not.toHaveProperty('retryAfterMs');
  });
});
