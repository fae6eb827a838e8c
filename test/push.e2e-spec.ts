/**
 * Mobile push through a real standalone node (`npm start` composition, PGlite control store): the
 * REST API registers devices and publishes with `push`, the dispatcher consumes `herald.push` and
 * sends with the real apns2 and firebase-admin clients to the fake APNs (HTTP/2 + TLS) and FCM v1
 * servers of libs/testing on loopback, with credentials uploaded through the admin API.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { BUS, Topics, partitionOf, type Bus } from '@herald/bus';
import { Hub, SessionSupervisor } from '@herald/core';
import { DisconnectCode } from '@herald/protocol';
import { PRESENCE_REGISTRY, type PresenceRegistry } from '@herald/presence';
import {
  PUSH_STATE_STORE,
  PushDispatcher,
  pushJobKey,
  type PushOutcomeReport,
  type PushStateStore,
} from '@herald/push';
import type { RunningNode } from '@herald/runtime';
import {
  EventLog,
  FakeApnsServer,
  adminRequest,
  FakeFcmServer,
  TestClient,
  createTestCert,
  signHs256,
  startStandalone,
  waitFor,
  type PubOf,
  type TestCert,
} from '@herald/testing';
import { decodeEventRecord, type EventRecord } from '@herald/webhooks';
import { Herald, type PublicationEvent } from '@herald/sdk';
import { nextEvent } from '@herald/sdk/testing';
import WebSocket from 'ws';

const ADMIN = `adm_${randomBytes(24).toString('base64url')}`;

interface Json {
  [k: string]: unknown;
}

/** A call with a Bearer token (the admin token or an app's server secret): its status and JSON body. */
const http = <T = Json>(base: string, method: string, path: string, auth: string, body?: unknown) =>
  adminRequest<T>(base, auth, method, path, body);

function apnsToken(): string {
  return randomBytes(32).toString('hex');
}

function fcmToken(): string {
  return `fcm_${randomBytes(20).toString('base64url')}`;
}

interface TestApp {
  id: string;
  key: string;
  secret: string;
  /** APNs team and key id (undefined without an APNs credential). */
  team?: string;
  keyId?: string;
  bundle: string;
  fcmAccount: string;
  fcmProject: string;
}

describe('mobile push through the standalone node', () => {
  let cert: TestCert;
  let apns: FakeApnsServer;
  let fcm: FakeFcmServer;
  let node: RunningNode;
  let presence: PresenceRegistry;
  let pushState: PushStateStore;
  const outcomes = new EventLog<PushOutcomeReport>();
  const events = new EventLog<EventRecord>();
  const clients: TestClient[] = [];
  const sdks: Herald[] = [];

  beforeAll(async () => {
    cert = createTestCert();
    apns = await new FakeApnsServer(cert).listen();
    fcm = await new FakeFcmServer().listen();
    node = await startStandalone({
      admin: { token: ADMIN },
      push: {
        apnsEndpoint: apns.origin,
        fcmEndpoint: fcm.origin,
        caFile: cert.certFile,
        maxDevicesPerUser: 3,
        maxAttempts: 3,
        backoffInitialMilliseconds: 50,
        backoffMaxMilliseconds: 2000,
        unackedDelayMilliseconds: 500,
      },
    });
    node.app.get(PushDispatcher).listeners.add((o) => outcomes.push(o));
    // The webhook events the dispatcher produces (push_delivered / push_failed), as the bus carries them.
    await node.app.get<Bus>(BUS).subscribe(Topics.EVENTS, {}, async (r) => {
      const record = decodeEventRecord(r.value);
      if (record) events.push(record);
    });
    presence = node.app.get<PresenceRegistry>(PRESENCE_REGISTRY);
    pushState = node.app.get<PushStateStore>(PUSH_STATE_STORE);
  }, 60_000);

  async function metricsText(): Promise<string> {
    return (await fetch(`${node.url}/metrics`)).text();
  }

  afterAll(async () => {
    for (const s of sdks) s.disconnect();
    await Promise.all(clients.map((c) => c.close()));
    await node?.close();
    await apns?.close();
    await fcm?.close();
    cert?.dispose();
  });

  async function createApp(id: string, withApns = true): Promise<TestApp> {
    const created = await http<{ key: { key: string }; secret: { secret: string } }>(
      node.url,
      'POST',
      '/v1/admin/apps',
      ADMIN,
      {
        id,
      },
    );
    expect(created.status).toBe(201);
    const bundle = `com.example.${id}`;
    const credential = withApns ? apns.newCredential(bundle) : undefined;
    if (credential) {
      const up = await http(node.url, 'PUT', `/v1/admin/apps/${id}/push/apns`, ADMIN, credential);
      expect(up.status).toBeLessThan(300);
    }
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const fcmProject = `herald-${id}`;
    const fcmAccount = `push@${fcmProject}.iam.gserviceaccount.com`;
    fcm.addServiceAccount(
      fcmAccount,
      fcmProject,
      rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    );
    const upFcm = await http(node.url, 'PUT', `/v1/admin/apps/${id}/push/fcm`, ADMIN, {
      service_account: {
        type: 'service_account',
        project_id: fcmProject,
        private_key_id: 'key-1',
        private_key: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        client_email: fcmAccount,
      },
    });
    expect(upFcm.status).toBeLessThan(300);
    return {
      id,
      key: created.body.key.key,
      secret: created.body.secret.secret,
      ...(credential ? { team: credential.team_id, keyId: credential.key_id } : {}),
      bundle,
      fcmAccount,
      fcmProject,
    };
  }

  function token(app: TestApp, user: string): string {
    return signHs256(app.secret, { aud: app.id, sub: user });
  }

  async function connect(app: TestApp, user: string): Promise<TestClient> {
    const ws = `${node.url.replace(/^http/, 'ws')}/connection/websocket?key=${encodeURIComponent(app.key)}`;
    const client = await TestClient.open(ws);
    clients.push(client);
    await client.request({ cmd: 'connect', token: token(app, user) });
    return client;
  }

  async function register(app: TestApp, user: string, platform: 'apns' | 'fcm', tok: string): Promise<void> {
    const res = await http(node.url, 'POST', `/v1/apps/${app.id}/users/${user}/devices`, app.secret, {
      platform,
      token: tok,
    });
    expect(res.status).toBe(200);
  }

  async function publish(
    app: TestApp,
    user: string,
    push: Json,
    data: unknown = { text: 'hi' },
  ): Promise<string> {
    const res = await http<{ message_id?: string }>(
      node.url,
      'POST',
      `/v1/apps/${app.id}/users/${user}/publish`,
      app.secret,
      {
        data,
        push,
      },
    );
    expect(res.status).toBe(200);
    expect(res.body.message_id).toMatch(/^msg_/);
    return res.body.message_id as string;
  }

  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await createApp('pusha');
    b = await createApp('pushb', false);
  });

  it("pushes to an offline user's APNs and FCM devices with the app's own credentials", async () => {
    const t = apnsToken();
    const f = fcmToken();
    await register(a, 'u1', 'apns', t);
    await register(a, 'u1', 'fcm', f);
    const id = await publish(a, 'u1', { title: 'Hello', body: 'from Herald', badge: 2, collapse_id: 'c1' });
    const sent = await apns.requests.wait((r) => r.token === t);
    expect(sent).toMatchObject({
      status: 200,
      team: a.team,
      topic: a.bundle,
      pushType: 'alert',
      collapseId: 'c1',
    });
    expect(sent.payload).toMatchObject({
      aps: { alert: { title: 'Hello', body: 'from Herald' }, badge: 2 },
      herald_message_id: id,
    });
    const viaFcm = await fcm.requests.wait((r) => r.token === f);
    expect(viaFcm).toMatchObject({ status: 200, account: a.fcmAccount, project: a.fcmProject });
    expect(viaFcm.message).toMatchObject({
      notification: { title: 'Hello', body: 'from Herald' },
      data: { herald_message_id: id },
    });
    const delivered = await events.wait((e) => e.event.name === 'push_delivered' && e.event.push_id === id);
    expect(delivered).toMatchObject({ app: a.id, event: { user_id: 'u1' } });
    // One event per device; the metrics are counted before each event is produced.
    await waitFor(
      () =>
        events.entries.filter((e) => e.event.name === 'push_delivered' && e.event.push_id === id).length ===
        2,
      { message: 'two push_delivered events' },
    );
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).toMatch(/herald_push_sent_total\{app="pusha",platform="apns"\} [1-9]/);
    expect(metrics).toMatch(/herald_push_sent_total\{app="pusha",platform="fcm"\} [1-9]/);
    expect(metrics).toMatch(/herald_push_queue_lag_milliseconds\{app="pusha"\} \d/);
  });

  it('sends no push to an online user; after the user disconnects, the next publish is pushed', async () => {
    const t = apnsToken();
    await register(a, 'u2', 'apns', t);
    const client = await connect(a, 'u2');
    const first = await publish(a, 'u2', { title: 'one' });
    const pub = await client.nextPush<{ push: 'pub'; channel: string; pub: PubOf }>(
      (p) => p.push === 'pub' && p.channel === '#u2',
    );
    expect(pub.pub.id).toBe(first);
    await outcomes.wait((o) => o.messageId === first && o.outcome === 'skipped');
    expect(outcomes.entries.find((o) => o.messageId === first)?.reason).toBe('online');
    expect(await metricsText()).toMatch(/herald_push_skipped_total\{app="pusha",reason="online"\} [1-9]/);
    await client.close();
    // No event says "presence removed" on the server side: poll the registry (bounded).
    await waitFor(async () => !(await presence.isUserOnline(a.id, 'u2')), { message: 'u2 offline' });
    const second = await publish(a, 'u2', { title: 'two' });
    const sent = await apns.requests.wait((r) => r.token === t);
    expect(sent.payload?.['herald_message_id']).toBe(second);
    expect(apns.requests.entries.filter((r) => r.token === t)).toHaveLength(1);
  });

  it('unacked: an acknowledged message is not pushed, an unacknowledged one is', async () => {
    const t = apnsToken();
    await register(a, 'u3', 'apns', t);
    const client = await connect(a, 'u3');
    const acked = await publish(a, 'u3', { title: 'seen', policy: 'unacked', delay_ms: 400 });
    const pub = await client.nextPush<{ push: 'pub'; channel: string; pub: PubOf }>(
      (p) => p.push === 'pub' && p.channel === '#u3',
    );
    expect(pub.pub.id).toBe(acked);
    await client.request({ cmd: 'ack', message: acked });
    // The job was parked for its delay (the partition was not held), then skipped.
    await outcomes.wait((o) => o.messageId === acked && o.outcome === 'parked');
    const skipped = await outcomes.wait((o) => o.messageId === acked && o.outcome === 'skipped');
    expect(skipped.reason).toBe('acked');
    expect(await metricsText()).toMatch(/herald_push_skipped_total\{app="pusha",reason="acked"\} [1-9]/);

    // Connected but not acknowledging (an app in the background): pushed after the delay.
    const unseen = await publish(a, 'u3', { title: 'unseen', policy: 'unacked', delay_ms: 400 });
    const sent = await apns.requests.wait((r) => r.token === t);
    expect(sent.payload?.['herald_message_id']).toBe(unseen);
    expect(apns.delivered(t)).toHaveLength(1);
  });

  it('unacked: the SDK acknowledges user-addressed messages on delivery', async () => {
    const t = apnsToken();
    await register(a, 'u3s', 'apns', t);
    const sdk = new Herald({
      url: node.url,
      key: a.key,
      token: token(a, 'u3s'),
      transports: ['websocket'],
      WebSocket,
      fetch: globalThis.fetch,
    });
    sdks.push(sdk);
    const delivered = new EventLog<PublicationEvent>();
    sdk.on('publication', (p) => delivered.push(p));
    const connected = nextEvent(sdk, 'connected');
    sdk.connect();
    await connected;
    const id = await publish(a, 'u3s', { title: 'sdk', policy: 'unacked', delay_ms: 400 });
    expect((await delivered.wait((p) => p.id === id)).channel).toBe('#u3s');
    const skipped = await outcomes.wait((o) => o.messageId === id && o.outcome === 'skipped');
    expect(skipped.reason).toBe('acked');
    expect(apns.requests.entries.filter((r) => r.token === t)).toEqual([]);
  });

  it('deletes tokens APNs reports 410 Unregistered and FCM reports UNREGISTERED', async () => {
    const t = apnsToken();
    const f = fcmToken();
    apns.unregister(t);
    fcm.unregister(f);
    await register(a, 'u4', 'apns', t);
    await register(a, 'u4', 'fcm', f);
    const id = await publish(a, 'u4', { title: 'gone' });
    await outcomes.wait((o) => o.messageId === id && o.device === `apns:${t}` && o.outcome === 'pruned');
    await outcomes.wait((o) => o.messageId === id && o.device === `fcm:${f}` && o.outcome === 'pruned');
    const failed = await events.wait((e) => e.event.name === 'push_failed' && e.event.push_id === id);
    expect(failed.event.reason).toMatch(/unregistered/);
    const list = await http<{ devices: unknown[] }>(
      node.url,
      'GET',
      `/v1/apps/${a.id}/users/u4/devices`,
      a.secret,
    );
    expect(list.body.devices).toEqual([]);
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).toMatch(/herald_push_tokens_pruned_total\{app="pusha",platform="fcm"\} [1-9]/);
    expect(metrics).toMatch(
      /herald_push_failed_total\{app="pusha",platform="apns",reason="unregistered"\} [1-9]/,
    );
  });

  it('retries a 429 no sooner than its Retry-After', async () => {
    const t = apnsToken();
    apns.script(t, [{ status: 429, reason: 'TooManyRequests', retryAfter: '1' }]);
    await register(a, 'u5', 'apns', t);
    await publish(a, 'u5', { title: 'later' });
    const ok = await apns.requests.wait((r) => r.token === t && r.status === 200);
    const refused = apns.requests.entries.find((r) => r.token === t && r.status === 429);
    expect(refused).toBeDefined();
    expect(ok.at - (refused?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    const metrics = await metricsText();
    expect(metrics).toMatch(/herald_push_retried_total\{app="pusha"\} [1-9]/);
    expect(metrics).toMatch(
      /herald_push_failed_total\{app="pusha",platform="apns",reason="rate_limited"\} [1-9]/,
    );
  });

  it("parks a throttled app's job (Retry-After: 30, over the 2 s backoff cap) without delaying another app's push on the same partition", async () => {
    // Two users of two apps whose jobs land on the same partition of the memory bus (16 partitions).
    const slowUser = 'hol-a';
    const partition = partitionOf(pushJobKey(a.id, slowUser), 16);
    let fastUser = '';
    for (let i = 0; i < 10_000 && fastUser === ''; i++)
      if (partitionOf(pushJobKey(b.id, `hol-b${i}`), 16) === partition) fastUser = `hol-b${i}`;
    expect(fastUser).not.toBe('');
    const t = apnsToken();
    const f = fcmToken();
    apns.script(t, [{ status: 429, reason: 'TooManyRequests', retryAfter: '30' }]);
    await register(a, slowUser, 'apns', t);
    await register(b, fastUser, 'fcm', f);
    const slow = await publish(a, slowUser, { title: 'throttled' });
    // The retry is parked (not a record waiting in the partition) before app b publishes.
    await outcomes.wait((o) => o.messageId === slow && o.outcome === 'parked');
    const refused = apns.requests.entries.find((r) => r.token === t && r.status === 429);
    expect(refused).toBeDefined();
    const fast = await publish(b, fastUser, { title: 'not blocked' });
    const viaFcm = await fcm.requests.wait((r) => r.token === f && r.status === 200);
    expect(viaFcm.message).toMatchObject({ data: { herald_message_id: fast } });
    // b's push went out while a's job waits for its Retry-After: a was not asked again.
    expect(apns.requests.entries.filter((r) => r.token === t)).toHaveLength(1);
    const parked = await pushState.listParked(a.id, 1000);
    expect(parked.some((p) => p.dueAt >= (refused?.at ?? 0) + 30_000)).toBe(true);
  });

  it('honours the Retry-After of an FCM 429 (read past firebase-admin, which does not expose it)', async () => {
    const f = fcmToken();
    fcm.script(f, [{ status: 429, errorCode: 'QUOTA_EXCEEDED', retryAfter: '90' }]);
    await register(a, 'fra', 'fcm', f);
    const before = Date.now();
    const id = await publish(a, 'fra', { title: 'quota' });
    await outcomes.wait((o) => o.messageId === id && o.outcome === 'parked');
    expect(fcm.requests.entries.filter((r) => r.token === f)).toEqual([
      expect.objectContaining({ status: 429, errorCode: 'QUOTA_EXCEEDED' }),
    ]);
    const parked = await pushState.listParked(a.id, 1000);
    expect(parked.some((p) => p.dueAt >= before + 90_000 && p.dueAt < Date.now() + 90_000 + 2000)).toBe(true);
  });

  it('retries 503, dead-letters the job after maxAttempts, and replays it through the admin API', async () => {
    const t = apnsToken();
    apns.script(t, [
      { status: 503, reason: 'ServiceUnavailable' },
      { status: 503, reason: 'ServiceUnavailable' },
      { status: 503, reason: 'ServiceUnavailable' },
    ]);
    await register(a, 'u6', 'apns', t);
    const id = await publish(a, 'u6', { title: 'eventually' });
    await outcomes.wait((o) => o.messageId === id && o.outcome === 'dead_lettered', { timeoutMs: 15_000 });
    expect(apns.requests.entries.filter((r) => r.token === t && r.status === 503)).toHaveLength(3);
    const metrics = await metricsText();
    expect(metrics).toMatch(/herald_push_dead_lettered_total\{app="pusha"\} [1-9]/);
    expect(metrics).toMatch(
      /herald_push_failed_total\{app="pusha",platform="apns",reason="provider_error"\} [3-9]/,
    );
    const listed = await http<{
      dead_letters: { id: string; message_id: string; reason: string; devices: string[] }[];
    }>(node.url, 'GET', `/v1/admin/apps/${a.id}/push/dead-letters`, ADMIN);
    const entry = listed.body.dead_letters.find((d) => d.message_id === id);
    expect(entry).toMatchObject({ reason: 'retries_exhausted', devices: [`apns:${t}`] });
    // Another app sees none of it.
    const other = await http<{ dead_letters: unknown[] }>(
      node.url,
      'GET',
      `/v1/admin/apps/${b.id}/push/dead-letters`,
      ADMIN,
    );
    expect(other.body.dead_letters.filter((d) => (d as { message_id: string }).message_id === id)).toEqual(
      [],
    );
    const replay = await http<{ replayed: number }>(
      node.url,
      'POST',
      `/v1/admin/apps/${a.id}/push/dead-letters/replay`,
      ADMIN,
      {
        ids: [entry?.id],
      },
    );
    expect(replay.body.replayed).toBe(1);
    const ok = await apns.requests.wait((r) => r.token === t && r.status === 200);
    expect(ok.payload?.['herald_message_id']).toBe(id);
  }, 30_000);

  it('sends the per-platform overrides to APNs and FCM', async () => {
    const t = apnsToken();
    const f = fcmToken();
    await register(a, 'ov1', 'apns', t);
    await register(a, 'ov1', 'fcm', f);
    const id = await publish(a, 'ov1', {
      title: 'Common',
      body: 'common body',
      data: { room: '42' },
      apns: {
        title: 'Apple title',
        subtitle: 'sub',
        thread_id: 'room-42',
        category: 'MESSAGE',
        mutable_content: true,
        sound: 'ping.caf',
        badge: 7,
        payload: { deep_link: 'app://room/42' },
      },
      fcm: {
        title: 'Android title',
        channel_id: 'chat',
        icon: 'ic_chat',
        color: '#3366ff',
        click_action: 'OPEN_ROOM',
        sound: 'ping',
        data: { extra: 'yes' },
      },
    });
    const viaApns = await apns.requests.wait((r) => r.token === t && r.status === 200);
    expect(viaApns.payload).toMatchObject({
      aps: {
        alert: { title: 'Apple title', subtitle: 'sub', body: 'common body' },
        'thread-id': 'room-42',
        category: 'MESSAGE',
        'mutable-content': 1,
        sound: 'ping.caf',
        badge: 7,
      },
      deep_link: 'app://room/42',
      room: '42',
      herald_message_id: id,
    });
    const viaFcm = await fcm.requests.wait((r) => r.token === f && r.status === 200);
    expect(viaFcm.message).toMatchObject({
      notification: { title: 'Android title', body: 'common body' },
      data: { room: '42', extra: 'yes', herald_message_id: id },
      android: {
        notification: {
          channel_id: 'chat',
          icon: 'ic_chat',
          color: '#3366ff',
          click_action: 'OPEN_ROOM',
          sound: 'ping',
        },
      },
    });
  });

  it('refuses an oversized push before publishing anything', async () => {
    const res = await http<{ error: { name: string } }>(
      node.url,
      'POST',
      `/v1/apps/${a.id}/users/u7/publish`,
      a.secret,
      {
        data: 1,
        push: { title: 'big', data: { blob: 'x'.repeat(4050) } },
      },
    );
    expect(res.status).toBe(413);
    expect(res.body.error.name).toBe('push_payload_too_large');
  });

  it("never uses another app's credentials", async () => {
    const t = apnsToken();
    const f = fcmToken();
    await register(b, 'u1', 'apns', t);
    await register(b, 'u1', 'fcm', f);
    const id = await publish(b, 'u1', { title: 'b only' });
    // App b has no APNs credential: the APNs device fails (and is dead-lettered), never sent with a's key.
    await outcomes.wait((o) => o.messageId === id && o.device === `apns:${t}` && o.outcome === 'failed');
    expect(outcomes.entries.find((o) => o.messageId === id && o.device === `apns:${t}`)?.reason).toBe(
      'no_credentials',
    );
    const viaFcm = await fcm.requests.wait((r) => r.token === f);
    expect(viaFcm).toMatchObject({ status: 200, account: b.fcmAccount, project: b.fcmProject });
    expect(apns.requests.entries.filter((r) => r.token === t)).toEqual([]);
  });

  it('publishes to many users at once, each with a push', async () => {
    const t1 = apnsToken();
    const t2 = apnsToken();
    await register(a, 'm1', 'apns', t1);
    await register(a, 'm2', 'apns', t2);
    const res = await http<{ responses: { user: string; message_id: string }[] }>(
      node.url,
      'POST',
      `/v1/apps/${a.id}/users/publish`,
      a.secret,
      { users: ['m1', 'm2'], data: { n: 1 }, push: { title: 'all', policy: 'always' } },
    );
    expect(res.status).toBe(200);
    expect(res.body.responses.map((r) => r.user)).toEqual(['m1', 'm2']);
    await apns.requests.wait((r) => r.token === t1 && r.status === 200);
    await apns.requests.wait((r) => r.token === t2 && r.status === 200);
  });

  describe('device registration', () => {
    it('is documented in the OpenAPI document with the push routes', async () => {
      const doc = (await (await fetch(`${node.url}/v1/openapi.json`)).json()) as {
        paths: Record<string, Record<string, { operationId: string }>>;
      };
      expect(doc.paths['/v1/apps/{app}/users/{user}/devices']?.['post']?.operationId).toBe('registerDevice');
      expect(
        doc.paths['/v1/apps/{app}/users/{user}/devices/{platform}/{token}']?.['delete']?.operationId,
      ).toBe('deleteDevice');
      expect(doc.paths['/v1/apps/{app}/users/publish']?.['post']?.operationId).toBe('publishToUsers');
      expect(doc.paths['/v1/admin/apps/{app}/push/dead-letters/replay']?.['post']?.operationId).toBe(
        'adminReplayPushDeadLetters',
      );
    });

    it('lets a client manage only its own devices with its connection token', async () => {
      const t = apnsToken();
      const own = await http(node.url, 'POST', `/v1/apps/${a.id}/users/c1/devices`, token(a, 'c1'), {
        platform: 'apns',
        token: t,
        locale: 'fr-CA',
        topics: ['news'],
      });
      expect(own.status).toBe(200);
      expect(own.body['device']).toMatchObject({
        platform: 'apns',
        token: t,
        user: 'c1',
        locale: 'fr-CA',
        topics: ['news'],
      });
      const other = await http<{ error: { name: string } }>(
        node.url,
        'GET',
        `/v1/apps/${a.id}/users/c2/devices`,
        token(a, 'c1'),
      );
      expect(other.status).toBe(403);
      const foreign = await http(node.url, 'GET', `/v1/apps/${a.id}/users/c1/devices`, token(b, 'c1'));
      expect(foreign.status).toBe(401);
      const patched = await http(
        node.url,
        'PATCH',
        `/v1/apps/${a.id}/users/c1/devices/apns/${t}`,
        token(a, 'c1'),
        {
          locale: null,
          topics: [],
        },
      );
      expect(patched.body['device']).toMatchObject({ topics: [] });
      expect((patched.body['device'] as Json)['locale']).toBeUndefined();
      expect(
        (await http(node.url, 'DELETE', `/v1/apps/${a.id}/users/c1/devices/apns/${t}`, token(a, 'c1')))
          .status,
      ).toBe(200);
      const again = await http<{ error: { name: string } }>(
        node.url,
        'DELETE',
        `/v1/apps/${a.id}/users/c1/devices/apns/${t}`,
        a.secret,
      );
      expect(again.body.error.name).toBe('device_not_found');
    });

    it('refuses malformed tokens and more devices than the limit', async () => {
      const bad = await http<{ error: { name: string } }>(
        node.url,
        'POST',
        `/v1/apps/${a.id}/users/l1/devices`,
        a.secret,
        {
          platform: 'apns',
          token: 'not-hex',
        },
      );
      expect(bad.status).toBe(400);
      expect(bad.body.error.name).toBe('invalid_device_token');
      const tokens = [apnsToken(), apnsToken(), apnsToken()];
      for (const t of tokens) await register(a, 'l1', 'apns', t);
      // Re-registering an existing device is not one more.
      await register(a, 'l1', 'apns', tokens[0]);
      const over = await http<{ error: { name: string } }>(
        node.url,
        'POST',
        `/v1/apps/${a.id}/users/l1/devices`,
        a.secret,
        {
          platform: 'apns',
          token: apnsToken(),
        },
      );
      expect(over.status).toBe(409);
      expect(over.body.error.name).toBe('limit_devices');
    });
  });

  it("reuses one APNs provider token for all of an app's pushes", async () => {
    const ofA = apns.requests.entries.filter((r) => r.team === a.team);
    // Every APNs push of app a in this suite so far, the retried and refused ones included.
    expect(ofA.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(6);
    expect(new Set(ofA.map((r) => r.providerToken))).toEqual(
      new Set([apns.providerTokens.entries.find((p) => p.keyId === a.keyId)?.token]),
    );
    expect(apns.providerTokens.entries.filter((p) => p.keyId === a.keyId)).toHaveLength(1);
  });

  // Runs last: it drains the node.
  describe('a node shutting down', () => {
    it('leaves its users online until their presence expires, so a rolling deploy sends no pushes', async () => {
      const t = apnsToken();
      await register(a, 'd1', 'apns', t);
      const client = await connect(a, 'd1');
      await node.app.get(SessionSupervisor).drain(0);
      expect((await client.closed).code).toBe(DisconnectCode.SHUTDOWN.code);
      await waitFor(() => [...node.app.get(Hub).allSessions()].length === 0, { message: 'sessions closed' });
      expect(await presence.isUserOnline(a.id, 'd1')).toBe(true);
      const id = await publish(a, 'd1', { title: 'during deploy' });
      await outcomes.wait((o) => o.messageId === id && o.outcome === 'skipped');
      expect(outcomes.entries.find((o) => o.messageId === id)?.reason).toBe('online');
      expect(apns.requests.entries.filter((r) => r.token === t)).toEqual([]);
    });
  });
});
