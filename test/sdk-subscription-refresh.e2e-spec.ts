import WebSocket from 'ws';
import { ErrorCode } from '@herald/protocol';
import { Herald, type PublicationEvent, type UnsubscribedEvent } from '@herald/sdk';
import { nextEvent } from '@herald/sdk/testing';
import { nowSec, startTestNode, uniqueId, type TestApp, type TestNode } from '@herald/testing';

// Subscription tokens of private channels expire; the SDK refreshes them with `sub_refresh` before
// they do (through the subscription's getToken), and the server unsubscribes a channel whose token
// expired without a refresh (code token_expired). Both sides are checked against a real node.

let node: TestNode;
let app: TestApp;
const clients: Herald[] = [];

beforeAll(async () => {
  node = await startTestNode();
  app = node.apps.alpha;
});

afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

afterAll(async () => {
  await node?.close();
});

async function connected(user: string): Promise<Herald> {
  const c = new Herald({ url: node.url, key: app.key, token: app.token(user), WebSocket });
  clients.push(c);
  const ready = nextEvent(c, 'connected');
  c.connect();
  await ready;
  return c;
}

/** A 3 s subscription token: its refresh lands in the last 10–20 % of that lifetime. */
function shortSubToken(user: string, channel: string): string {
  return app.subToken(user, channel, { exp: nowSec() + 3 });
}

describe('subscription token refresh', () => {
  it('keeps a private subscription alive past its first token by refreshing it', async () => {
    const user = uniqueId('u');
    const channel = `priv:${uniqueId('room')}`;
    const c = await connected(user);
    let calls = 0;
    let thirdCall!: () => void;
    const third = new Promise<void>((resolve) => (thirdCall = resolve));
    const sub = c.subscribe(channel, {
      getToken: (ch) => {
        calls++;
        if (calls === 3) thirdCall();
        return Promise.resolve(shortSubToken(user, ch));
      },
    });
    const unsubscribed: UnsubscribedEvent[] = [];
    sub.on('unsubscribed', (e) => unsubscribed.push(e));
    await nextEvent(sub, 'subscribed');
    const firstExpiry = nowSec() + 3;

    // Call 1 subscribed, call 2 refreshed before the first token expired, call 3 refreshes the
    // second token, which happens after the first one's expiry.
    await third;
    expect(nowSec()).toBeGreaterThanOrEqual(firstExpiry - 1);
    const got = nextEvent(sub, 'publication', (p: PublicationEvent) => (p.data as { n: number }).n === 1);
    await node.rest(app).publish(channel, { n: 1 });
    await got;
    expect(unsubscribed).toEqual([]);
    expect(sub.state).toBe('subscribed');
  }, 20_000);

  it('is unsubscribed with token_expired when the refresh fails (the server enforces expiry)', async () => {
    const user = uniqueId('u');
    const channel = `priv:${uniqueId('room')}`;
    const c = await connected(user);
    let calls = 0;
    const sub = c.subscribe(channel, {
      getToken: (ch) => {
        calls++;
        return calls === 1
          ? Promise.resolve(shortSubToken(user, ch))
          : Promise.reject(new Error('token service unavailable'));
      },
    });
    const refreshError = nextEvent(sub, 'error');
    await nextEvent(sub, 'subscribed');
    const gone = nextEvent(sub, 'unsubscribed', () => true, 8000);
    expect((await refreshError).error.message).toContain('token service unavailable');
    const e = await gone;
    expect(e.code).toBe(ErrorCode.TOKEN_EXPIRED.code);
    expect(sub.state).toBe('unsubscribed');
    expect(c.state).toBe('connected');
  }, 20_000);
});
