/**
 * The contract of PushStateStore (libs/push): run against the memory driver in unit tests and the
 * Redis driver against a real server, with unique app ids so runs can share one server.
 */
import type { PushStateStore } from '@herald/push';
import { uniqueId } from '../unique-id.js';

export function pushStateStoreContract(
  name: string,
  open: () => Promise<{ store: PushStateStore; close(): Promise<void> }>,
): void {
  describe(`PushStateStore contract: ${name}`, () => {
    let store: PushStateStore;
    let close: () => Promise<void>;
    let app: string;

    beforeEach(async () => {
      ({ store, close } = await open());
      app = uniqueId('app');
    });
    afterEach(() => close());

    it('records acknowledgements per app, user and message', async () => {
      expect(await store.isAcked(app, 'u1', 'm1')).toBe(false);
      await store.ack(app, 'u1', 'm1', 60_000);
      expect(await store.isAcked(app, 'u1', 'm1')).toBe(true);
      expect(await store.isAcked(app, 'u2', 'm1')).toBe(false);
      expect(await store.isAcked(app, 'u1', 'm2')).toBe(false);
      expect(await store.isAcked(`${app}-other`, 'u1', 'm1')).toBe(false);
    });

    it('claims a (message, device) pair once; a sent pair stays sent', async () => {
      expect(await store.begin(app, 'm1', 'apns:aa', 60_000)).toBe('claimed');
      expect(await store.begin(app, 'm1', 'apns:aa', 60_000)).toBe('busy');
      expect(await store.begin(app, 'm1', 'apns:bb', 60_000)).toBe('claimed');
      expect(await store.begin(`${app}-other`, 'm1', 'apns:aa', 60_000)).toBe('claimed');
      await store.markSent(app, 'm1', 'apns:aa', 60_000);
      expect(await store.begin(app, 'm1', 'apns:aa', 60_000)).toBe('sent');
      await store.release(app, 'm1', 'apns:aa');
      expect(await store.begin(app, 'm1', 'apns:aa', 60_000)).toBe('sent');
    });

    it('lets a released claim be claimed again, and concurrent begins claim exactly once', async () => {
      expect(await store.begin(app, 'm2', 'fcm:t', 60_000)).toBe('claimed');
      await store.release(app, 'm2', 'fcm:t');
      const all = await Promise.all([1, 2, 3, 4, 5].map(() => store.begin(app, 'm2', 'fcm:t', 60_000)));
      expect(all.filter((x) => x === 'claimed')).toHaveLength(1);
    });

    it('lets an expired claim be taken over', async () => {
      expect(await store.begin(app, 'm3', 'fcm:t', 30)).toBe('claimed');
      const deadline = Date.now() + 2000;
      let again: string = 'busy';
      // Bounded: the claim expires 30 ms after it was taken.
      while (again === 'busy' && Date.now() < deadline) {
        await new Promise<void>((r) => setTimeout(r, 20));
        again = await store.begin(app, 'm3', 'fcm:t', 60_000);
      }
      expect(again).toBe('claimed');
    });
  });
}
