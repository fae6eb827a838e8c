import { ErrorCode } from '@herald/protocol';
import {
  TEST_MASTER_KEY,
  createPgliteDatabase,
  errorOf,
  newAppInput,
  type TestDatabase,
} from '@herald/control/testing';
import { SecretBox } from '../crypto/secret-box.js';
import { SqlControlStore } from './sql.control-store.js';
import { SqlDeviceStore } from './sql.device-store.js';

// DeviceStore and PushDeadLetterStore on PGlite (the same SQL runs on PostgreSQL).
describe('SqlDeviceStore', () => {
  let db: TestDatabase;
  let devices: SqlDeviceStore;

  beforeEach(async () => {
    db = await createPgliteDatabase();
    const store = new SqlControlStore(db.client, new SecretBox(TEST_MASTER_KEY));
    await store.verifyMasterKey();
    await store.createApp(newAppInput('acme'));
    await store.createApp(newAppInput('beta'));
    devices = new SqlDeviceStore(db.client);
  }, 60_000);

  afterEach(() => db.drop());

  it('keeps details, updates them (null clears) and scopes updates and deletes to the user', async () => {
    const d = await devices.registerDevice('acme', {
      platform: 'apns',
      token: 'aa',
      userId: 'u1',
      target: 'com.acme.app',
      locale: 'fr-CA',
      topics: ['news'],
    });
    expect(d).toMatchObject({ target: 'com.acme.app', locale: 'fr-CA', topics: ['news'] });
    const patched = await devices.updateDevice('acme', 'u1', 'apns', 'aa', { locale: null, topics: [] });
    expect(patched).toMatchObject({ target: 'com.acme.app', topics: [] });
    expect(patched?.locale).toBeUndefined();
    expect(await devices.updateDevice('acme', 'u2', 'apns', 'aa', { locale: 'en' })).toBeUndefined();
    expect(await devices.updateDevice('beta', 'u1', 'apns', 'aa', { locale: 'en' })).toBeUndefined();
    expect(await devices.deleteDevice('acme', 'apns', 'aa', 'u2')).toBe(false);
    expect(await devices.deleteDevice('acme', 'apns', 'aa', 'u1')).toBe(true);
  });

  it('enforces devices per user atomically; re-registering an existing device is free', async () => {
    const register = (token: string) =>
      devices.registerDevice('acme', { platform: 'fcm', token, userId: 'u1' }, { maxPerUser: 3 });
    const results = await Promise.allSettled(['t1', 't2', 't3', 't4', 't5'].map(register));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(await devices.listDevices('acme', 'u1')).toHaveLength(3);
    const kept = (await devices.listDevices('acme', 'u1'))[0].token;
    await register(kept);
    expect(await errorOf(register('t9'))).toBe(ErrorCode.LIMIT_DEVICES);
    // Another user and another app have their own budget.
    await devices.registerDevice('acme', { platform: 'fcm', token: 't9', userId: 'u2' }, { maxPerUser: 3 });
    await devices.registerDevice('beta', { platform: 'fcm', token: 't9', userId: 'u1' }, { maxPerUser: 3 });
  });

  it('stores, lists and takes dead letters per app', async () => {
    const entry = (id: string) => ({
      id,
      userId: 'u1',
      messageId: `m-${id}`,
      job: { v: 1, id: `m-${id}`, devices: ['apns:aa'] },
      reason: 'retries_exhausted',
      attempts: 5,
      lastError: 'APNs 503',
    });
    await devices.addDeadLetter('acme', entry('a'));
    await devices.addDeadLetter('acme', entry('b'));
    await devices.addDeadLetter('beta', entry('c'));
    expect((await devices.listDeadLetters('acme', 10)).map((d) => d.id)).toEqual(['a', 'b']);
    expect((await devices.listDeadLetters('acme', 10))[0]).toMatchObject({
      job: { devices: ['apns:aa'] },
      lastError: 'APNs 503',
    });
    expect(await devices.takeDeadLetters('acme', ['c'], 10)).toEqual([]);
    expect((await devices.takeDeadLetters('acme', ['b'], 10)).map((d) => d.id)).toEqual(['b']);
    expect((await devices.takeDeadLetters('acme', undefined, 10)).map((d) => d.id)).toEqual(['a']);
    expect(await devices.listDeadLetters('acme', 10)).toEqual([]);
    expect(await devices.listDeadLetters('beta', 10)).toHaveLength(1);
  });
});
