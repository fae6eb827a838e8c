import { ErrorCode, HeraldError } from '@herald/protocol';
import { APNS_MAX_PAYLOAD_BYTES, buildApnsNotification, buildFcmMessage, checkPushSize } from './payload.js';

const TOKEN = 'ab'.repeat(32);

function codeOf(f: () => unknown): number | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    return err instanceof HeraldError ? err.code : -1;
  }
}

describe('APNs payload', () => {
  it('builds an alert with the common fields, custom data and the message id', () => {
    const { notification, bytes } = buildApnsNotification(
      {
        title: 'Hi',
        body: 'there',
        badge: 3,
        sound: 'ping.caf',
        data: { room: 7, aps: 'ignored' },
        collapse_id: 'c1',
        ttl_seconds: 60,
      },
      TOKEN,
      { topic: 'com.example.app', messageId: 'msg_1', nowMs: 1_000_000 },
    );
    expect(notification.buildApnsOptions()).toEqual({
      aps: { alert: { title: 'Hi', body: 'there' }, sound: 'ping.caf', badge: 3 },
      room: 7,
      herald_message_id: 'msg_1',
    });
    expect(notification.pushType).toBe('alert');
    expect(notification.priority).toBe(10);
    expect(notification.options.topic).toBe('com.example.app');
    expect(notification.options.collapseId).toBe('c1');
    expect(notification.options.expiration).toBe(1000 + 60);
    expect(bytes).toBe(Buffer.byteLength(JSON.stringify(notification.buildApnsOptions())));
  });

  it('applies the APNs overrides and makes a data-only push a background push (priority 5)', () => {
    const alert = buildApnsNotification(
      {
        title: 'common',
        apns: { title: 'ios', subtitle: 'sub', body: 'b', thread_id: 't', mutable_content: true },
      },
      TOKEN,
      { messageId: 'm', nowMs: 0 },
    ).notification;
    expect(alert.buildApnsOptions().aps).toEqual({
      alert: { title: 'ios', subtitle: 'sub', body: 'b' },
      'thread-id': 't',
      'mutable-content': 1,
    });
    const bg = buildApnsNotification({ data: { sync: true } }, TOKEN, {
      messageId: 'm',
      nowMs: 0,
    }).notification;
    expect(bg.pushType).toBe('background');
    expect(bg.priority).toBe(5);
    expect(bg.buildApnsOptions().aps).toEqual({ 'content-available': 1 });
  });

  it('refuses a payload over 4096 bytes before sending', () => {
    const big = { body: 'x'.repeat(APNS_MAX_PAYLOAD_BYTES) };
    expect(codeOf(() => buildApnsNotification(big, TOKEN, { messageId: 'm', nowMs: 0 }))).toBe(
      ErrorCode.PUSH_PAYLOAD_TOO_LARGE.code,
    );
    // Just under: a body that leaves the envelope within the limit passes.
    expect(
      codeOf(() => buildApnsNotification({ body: 'x'.repeat(3900) }, TOKEN, { messageId: 'm', nowMs: 0 })),
    ).toBeUndefined();
  });
});

describe('FCM message', () => {
  it('builds notification, string data and Android options', () => {
    const { message } = buildFcmMessage(
      {
        title: 'Hi',
        body: 'b',
        data: { n: 1, s: 'x' },
        collapse_id: 'c',
        ttl_seconds: 30,
        priority: 'normal',
        fcm: { channel_id: 'chat', data: { extra: 'y' } },
      },
      'tok',
      { messageId: 'msg_1' },
    );
    expect(message).toEqual({
      token: 'tok',
      data: { n: '1', s: 'x', extra: 'y', herald_message_id: 'msg_1' },
      notification: { title: 'Hi', body: 'b' },
      android: { priority: 'normal', collapseKey: 'c', ttl: 30_000, notification: { channelId: 'chat' } },
    });
  });

  it('refuses data over 4000 bytes', () => {
    expect(codeOf(() => buildFcmMessage({ data: { k: 'x'.repeat(4000) } }, 'tok', { messageId: 'm' }))).toBe(
      ErrorCode.PUSH_PAYLOAD_TOO_LARGE.code,
    );
    expect(codeOf(() => checkPushSize({ data: { k: 'x'.repeat(3500) } }))).toBeUndefined();
  });
});
