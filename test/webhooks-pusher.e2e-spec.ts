/**
 * Webhooks in Pusher's format (issue 10 item 4), and the endpoint options of the admin API
 * (channel prefixes, format, enabled flag, signing-secret rotation), through a real standalone
 * node: the receiver checks Pusher-format deliveries with the official `pusher` server library's
 * own webhook check (`pusher.webhook({headers, rawBody}).isValid()`), and rotated Standard Webhooks
 * deliveries with an independent verifier, once per secret.
 */
import { randomBytes } from 'node:crypto';
import Pusher from 'pusher';
import { LIFECYCLE_EVENTS, type LifecycleEvents } from '@herald/presence';
import type { RunningNode } from '@herald/runtime';
import {
  adminRequest,
  signHs256,
  startStandalone,
  TestClient,
  verifyStandardWebhook as verifyWith,
  WebhookReceiver,
  type ReceivedRequest,
} from '@herald/testing';
import { pusherHeaders } from '@herald/webhooks';

const ADMIN = `adm_${randomBytes(24).toString('base64url')}`;

/** Admin API call (libs/testing): answers `{status, body}`. */
const call = <T>(base: string, method: string, path: string, body?: unknown) =>
  adminRequest<T>(base, ADMIN, method, path, body);

const PUSHER_EVENTS = [
  'channel_occupied',
  'channel_vacated',
  'member_added',
  'member_removed',
  'client_event',
];

describe('webhooks: Pusher format and endpoint options', () => {
  let node: RunningNode;
  /** Records every POST (path, headers, raw body) and answers 200. */
  const receiver = new WebhookReceiver();
  let base: string;
  const got = receiver.all;

  beforeAll(async () => {
    await receiver.start();
    base = receiver.url('');
    node = await startStandalone({
      admin: { token: ADMIN },
      webhooks: { allowNetworks: ['127.0.0.1'], occupancyDebounceMilliseconds: 0 },
    });
  }, 60_000);

  afterAll(async () => {
    await node?.close();
    await receiver.down();
  });

  async function createApp(id: string): Promise<{ key: string; secret: string }> {
    const created = await call<{ key: { key: string }; secret: { secret: string } }>(
      node.url,
      'POST',
      '/v1/admin/apps',
      {
        id,
        namespaces: {
          'presence-chat': { presence: true, allowPublish: true },
          other: { allowPublish: true },
        },
      },
    );
    expect(created.status).toBe(201);
    return { key: created.body.key.key, secret: created.body.secret.secret };
  }

  async function connect(app: string, a: { key: string; secret: string }, user: string) {
    const ws = node.url.replace(/^http/, 'ws');
    const client = await TestClient.open(`${ws}/connection/websocket?key=${a.key}`);
    await client.request({ cmd: 'connect', token: signHs256(a.secret, { sub: user, aud: app }) });
    return client;
  }

  it("Pusher format: the pusher library's webhook check accepts it; Pusher's shape; prefix filter", async () => {
    const app = 'whp-a';
    const a = await createApp(app);
    // Pusher has no connection events: refused with a clear error.
    const refused = await call<{ code: string; message: string }>(
      node.url,
      'POST',
      `/v1/admin/apps/${app}/webhooks`,
      { url: `${base}/p/${app}`, events: ['channel_occupied', 'connection_opened'], format: 'pusher' },
    );
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('connection_opened');
    const hook = await call<{ webhook: { format: string; channel_prefixes: string[] } }>(
      node.url,
      'POST',
      `/v1/admin/apps/${app}/webhooks`,
      {
        url: `${base}/p/${app}`,
        events: PUSHER_EVENTS,
        format: 'pusher',
        channel_prefixes: ['presence-chat:'],
      },
    );
    expect(hook.status).toBe(201);
    expect(hook.body.webhook).toMatchObject({ format: 'pusher', channel_prefixes: ['presence-chat:'] });

    const client = await connect(app, a, 'u1');
    await client.request({ cmd: 'subscribe', channel: 'other:x' }); // filtered out by the prefix
    await client.request({ cmd: 'subscribe', channel: 'presence-chat:room' });
    await client.request({ cmd: 'publish', channel: 'presence-chat:room', data: { hello: 1 } });
    // What the Pusher protocol layer reports for a `client-typing` event from a Pusher socket.
    node.app
      .get<LifecycleEvents>(LIFECYCLE_EVENTS)
      .clientEvent(app, 'presence-chat:room', '1234.5678', 'u1', '{"typing":true}', 'client-typing');
    await client.request({ cmd: 'unsubscribe', channel: 'presence-chat:room' });

    const mine = () => got.filter((d) => d.path === `/p/${app}`);
    const pusher = new Pusher({ appId: app, key: a.key, secret: a.secret, host: '127.0.0.1' });
    const events = () =>
      mine().flatMap((d) => pusher.webhook({ headers: d.headers, rawBody: d.rawBody }).getEvents());
    await receiver.until(
      () => events().some((e) => e.name === 'channel_vacated'),
      'channel_vacated in Pusher format',
    );
    for (const d of mine()) {
      expect(d.headers['x-pusher-key']).toBe(a.key);
      expect(pusher.webhook({ headers: d.headers, rawBody: d.rawBody }).isValid()).toBe(true);
      // The wrong secret fails the library's check.
      const wrong = new Pusher({ appId: app, key: a.key, secret: 'not-the-secret', host: '127.0.0.1' });
      expect(wrong.webhook({ headers: d.headers, rawBody: d.rawBody }).isValid()).toBe(false);
      expect(typeof (JSON.parse(d.rawBody) as { time_ms: unknown }).time_ms).toBe('number');
    }
    expect(events()).toEqual([
      { name: 'channel_occupied', channel: 'presence-chat:room' },
      { name: 'member_added', channel: 'presence-chat:room', user_id: 'u1' },
      {
        name: 'client_event',
        channel: 'presence-chat:room',
        event: 'message', // a native publication, named as Pusher clients see it (pusher-format.ts)
        data: '{"hello":1}',
        socket_id: expect.any(String) as string,
        user_id: 'u1',
      },
      {
        name: 'client_event',
        channel: 'presence-chat:room',
        event: 'client-typing',
        data: '{"typing":true}',
        socket_id: '1234.5678',
        user_id: 'u1',
      },
      { name: 'member_removed', channel: 'presence-chat:room', user_id: 'u1' },
      { name: 'channel_vacated', channel: 'presence-chat:room' },
    ]);
    await client.close();
  });

  it('signing-secret rotation: two signatures that each verify; PATCH changes options and the enabled flag', async () => {
    const app = 'whp-b';
    const a = await createApp(app);
    const created = await call<{ webhook: { id: string }; signing_secret: string }>(
      node.url,
      'POST',
      `/v1/admin/apps/${app}/webhooks`,
      { url: `${base}/s/${app}`, events: ['channel_occupied'] },
    );
    expect(created.status).toBe(201);
    const id = created.body.webhook.id;
    const oldSecret = created.body.signing_secret;
    const rotated = await call<{ webhook: { previous_secret_expires_at?: string }; signing_secret: string }>(
      node.url,
      'POST',
      `/v1/admin/apps/${app}/webhooks/${id}/rotate-secret`,
      { grace_seconds: 3600 },
    );
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.signing_secret;
    expect(newSecret).not.toBe(oldSecret);
    expect(rotated.body.webhook.previous_secret_expires_at).toBeDefined();

    // Rotated before the app's first event, so the dispatcher's endpoint cache (2 s) has both.
    const client = await connect(app, a, 'u2');
    await client.request({ cmd: 'subscribe', channel: 'other:r1' });
    const mine = () => got.filter((d) => d.path === `/s/${app}`);
    await receiver.until(() => mine().length > 0, 'a delivery signed during the rotation');
    const both: ReceivedRequest | undefined = mine()[0];
    expect(String(both.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(both).toBeDefined();
    expect(verifyWith(newSecret, both!.headers, both!.rawBody)).toBe(true);
    expect(verifyWith(oldSecret, both!.headers, both!.rawBody)).toBe(true);
    expect(verifyWith('whsec_' + randomBytes(24).toString('base64'), both!.headers, both!.rawBody)).toBe(
      false,
    );

    const patched = await call<{ enabled: boolean; channel_prefixes: string[]; events: string[] }>(
      node.url,
      'PATCH',
      `/v1/admin/apps/${app}/webhooks/${id}`,
      { enabled: false, channel_prefixes: ['other:'], events: ['channel_occupied', 'channel_vacated'] },
    );
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      enabled: false,
      channel_prefixes: ['other:'],
      events: ['channel_occupied', 'channel_vacated'],
    });
    const list = await call<{ webhooks: { id: string; enabled: boolean }[] }>(
      node.url,
      'GET',
      `/v1/admin/apps/${app}/webhooks`,
    );
    expect(list.body.webhooks.find((w) => w.id === id)?.enabled).toBe(false);
    const pusherOnly = await call<unknown>(node.url, 'PATCH', `/v1/admin/apps/${app}/webhooks/${id}`, {
      format: 'pusher',
      events: ['push_failed'],
    });
    expect(pusherOnly.status).toBe(400);
    // SSRF: IP literals the dispatcher would refuse are refused at once (127.0.0.1 is allow-listed here).
    for (const url of ['http://169.254.169.254/latest/meta-data', 'http://[::1]:9/', 'http://10.1.2.3/']) {
      const r = await call<{ error?: { message?: string } }>(
        node.url,
        'POST',
        `/v1/admin/apps/${app}/webhooks`,
        {
          url,
          events: ['channel_occupied'],
        },
      );
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body)).toContain('webhook url refused');
    }
    const moved = await call<unknown>(node.url, 'PATCH', `/v1/admin/apps/${app}/webhooks/${id}`, {
      url: 'http://192.168.0.10/hook',
    });
    expect(moved.status).toBe(400);
    const missing = await call<unknown>(node.url, 'PATCH', `/v1/admin/apps/${app}/webhooks/wh_nope`, {
      enabled: true,
    });
    expect(missing.status).toBe(404);
    await client.close();
  });

  it('documented Pusher-format test vector (docs/webhooks.md), accepted by the pusher library', () => {
    const body = '{"time_ms":1700000000000,"events":[{"name":"channel_occupied","channel":"presence-room"}]}';
    const h = pusherHeaders('278d425bdf160c739803', '7ad3773142a6692b25b8', body);
    expect(h['X-Pusher-Signature']).toBe('5a671b0e37de0551bec9811a4779c8d27cfd891dd153baf8b0aac85ac7316a32');
    const pusher = new Pusher({
      appId: '1',
      key: '278d425bdf160c739803',
      secret: '7ad3773142a6692b25b8',
      host: '127.0.0.1',
    });
    const headers = {
      'x-pusher-key': h['X-Pusher-Key'],
      'x-pusher-signature': h['X-Pusher-Signature'],
      'content-type': 'application/json',
    };
    expect(pusher.webhook({ headers, rawBody: body }).isValid()).toBe(true);
  });
});
