/**
 * `push_delivered` / `push_failed` from the push dispatcher to a real webhook receiver, through a
 * real standalone node (as in test/push.e2e-spec.ts): devices registered over REST, APNs
 * credentials uploaded through the admin API, pushes sent with the real apns2 client to the fake
 * APNs server of libs/testing on loopback, and the dispatcher's events delivered as signed
 * webhooks to the endpoint that subscribed to them (and to no other app's endpoint).
 */
import { randomBytes } from 'node:crypto';
import type { RunningNode } from '@herald/runtime';
import {
  FakeApnsServer,
  WebhookReceiver,
  adminRequest,
  createTestCert,
  startStandalone,
  type ReceivedEvent,
  type TestCert,
} from '@herald/testing';

const ADMIN = `adm_${randomBytes(24).toString('base64url')}`;

describe('push_delivered / push_failed reach a real webhook receiver', () => {
  let cert: TestCert;
  let apns: FakeApnsServer;
  let node: RunningNode;
  /** Signing secret per endpoint path (`/push/<app>`). */
  const secrets = new Map<string, string>();
  const receiver = new WebhookReceiver((path) => secrets.get(path));
  /** Admin calls with the admin token; REST calls with the app's server secret. */
  const call = <T>(auth: string, method: string, path: string, body?: unknown) =>
    adminRequest<T>(node.url, auth, method, path, body);

  beforeAll(async () => {
    cert = createTestCert();
    apns = await new FakeApnsServer(cert).listen();
    await receiver.start();
    node = await startStandalone({
      admin: { token: ADMIN },
      push: {
        apnsEndpoint: apns.origin,
        caFile: cert.certFile,
        maxAttempts: 2,
        backoffInitialMilliseconds: 50,
      },
      webhooks: { allowNetworks: ['127.0.0.1'] },
    });
  }, 60_000);

  afterAll(async () => {
    await node?.close();
    await apns?.close();
    await receiver.down();
    cert?.dispose();
  });

  /** An app with APNs credentials and an endpoint for the push events at `/push/<id>`. */
  async function createApp(id: string): Promise<{ secret: string }> {
    const created = await call<{ secret: { secret: string } }>(ADMIN, 'POST', '/v1/admin/apps', { id });
    expect(created.status).toBe(201);
    const up = await call(
      ADMIN,
      'PUT',
      `/v1/admin/apps/${id}/push/apns`,
      apns.newCredential(`com.example.${id}`),
    );
    expect(up.status).toBeLessThan(300);
    const path = `/push/${id}`;
    const hook = await call<{ signing_secret: string }>(ADMIN, 'POST', `/v1/admin/apps/${id}/webhooks`, {
      url: receiver.url(path),
      events: ['push_delivered', 'push_failed'],
    });
    expect(hook.status).toBe(201);
    secrets.set(path, hook.body.signing_secret);
    return { secret: created.body.secret.secret };
  }

  /** Registers an APNs device for the (offline) user and publishes to them with a push section. */
  async function pushTo(id: string, secret: string, user: string, token: string): Promise<string> {
    const reg = await call(secret, 'POST', `/v1/apps/${id}/users/${user}/devices`, {
      platform: 'apns',
      token,
    });
    expect(reg.status).toBe(200);
    const res = await call<{ message_id: string }>(secret, 'POST', `/v1/apps/${id}/users/${user}/publish`, {
      data: { text: 'hi' },
      push: { title: 'Hello' },
    });
    expect(res.status).toBe(200);
    return res.body.message_id;
  }

  const at = (path: string): ReceivedEvent[] =>
    receiver.unique.filter((r) => r.path === path).flatMap((r) => r.events);

  it('a delivered push and a failed one (token unregistered) arrive as signed webhooks, per app', async () => {
    const a = await createApp('whpush-a');
    const b = await createApp('whpush-b');
    const ok = randomBytes(32).toString('hex');
    const gone = randomBytes(32).toString('hex');
    apns.unregister(gone); // the fake APNs answers 410 Unregistered for it
    const delivered = await pushTo('whpush-a', a.secret, 'u1', ok);
    const failed = await pushTo('whpush-a', a.secret, 'u2', gone);
    const other = await pushTo('whpush-b', b.secret, 'u1', randomBytes(32).toString('hex'));

    const ofA = () => at('/push/whpush-a');
    await receiver.until(
      () => ofA().some((e) => e.name === 'push_delivered' && e.push_id === delivered),
      'push_delivered for whpush-a u1',
    );
    await receiver.until(
      () => ofA().some((e) => e.name === 'push_failed' && e.push_id === failed),
      'push_failed for whpush-a u2',
    );
    await receiver.until(
      () => at('/push/whpush-b').some((e) => e.name === 'push_delivered' && e.push_id === other),
      'push_delivered for whpush-b',
    );
    expect(ofA().find((e) => e.push_id === delivered)).toMatchObject({
      name: 'push_delivered',
      user_id: 'u1',
    });
    const f = ofA().find((e) => e.push_id === failed);
    expect(f).toMatchObject({ name: 'push_failed', user_id: 'u2' });
    expect(f?.reason).toMatch(/unregistered/);
    expect(receiver.all.every((r) => r.valid)).toBe(true);
    // Each app's endpoint sees only its own app's pushes.
    expect(ofA().some((e) => e.push_id === other)).toBe(false);
    expect(at('/push/whpush-b').some((e) => e.push_id === delivered || e.push_id === failed)).toBe(false);
  }, 30_000);
});
