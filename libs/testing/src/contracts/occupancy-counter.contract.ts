import type { OccupancyCounter } from '@herald/webhooks';
import { uniqueId } from '../unique-id.js';

export interface OccupancyCounterFixture {
  counter: OccupancyCounter;
  /** Another counter on the same data (another gateway); the same instance for one-node drivers. */
  another(): Promise<OccupancyCounter>;
  teardown(): Promise<void>;
}

/** The OccupancyCounter guarantees (libs/webhooks/src/occupancy.ts), for every driver. */
export function occupancyCounterContract(name: string, setup: () => Promise<OccupancyCounterFixture>): void {
  describe(`OccupancyCounter contract: ${name}`, () => {
    let fx: OccupancyCounterFixture;
    let counter: OccupancyCounter;
    let app: string;

    beforeEach(async () => {
      fx = await setup();
      counter = fx.counter;
      app = uniqueId('app');
    });
    afterEach(async () => {
      await fx.teardown();
    });

    it('counts up and down and never below zero', async () => {
      expect(await counter.count(app, 'c:room')).toBe(0);
      expect(await counter.add(app, 'c:room', 1)).toBe(1);
      expect(await counter.add(app, 'c:room', 1)).toBe(2);
      expect(await counter.count(app, 'c:room')).toBe(2);
      expect(await counter.add(app, 'c:room', -1)).toBe(1);
      expect(await counter.add(app, 'c:room', -1)).toBe(0);
      expect(await counter.add(app, 'c:room', -1)).toBe(0);
      expect(await counter.count(app, 'c:room')).toBe(0);
      expect(await counter.add(app, 'c:room', 1)).toBe(1);
    });

    it('setAnnounced returns the previous flag', async () => {
      expect(await counter.setAnnounced(app, 'c:room', true)).toBe(false);
      expect(await counter.setAnnounced(app, 'c:room', true)).toBe(true);
      expect(await counter.setAnnounced(app, 'c:room', false)).toBe(true);
      expect(await counter.setAnnounced(app, 'c:room', false)).toBe(false);
    });

    it('the flag and the count are independent and survive each other reaching zero', async () => {
      await counter.add(app, 'k', 1);
      await counter.setAnnounced(app, 'k', true);
      expect(await counter.add(app, 'k', -1)).toBe(0);
      expect(await counter.setAnnounced(app, 'k', false)).toBe(true);
      await counter.setAnnounced(app, 'k', true);
      expect(await counter.count(app, 'k')).toBe(0);
      expect(await counter.add(app, 'k', 1)).toBe(1);
      expect(await counter.setAnnounced(app, 'k', true)).toBe(true);
    });

    it('keys are per app', async () => {
      const other = uniqueId('app');
      await counter.add(app, 'c:room', 1);
      await counter.setAnnounced(app, 'c:room', true);
      expect(await counter.count(other, 'c:room')).toBe(0);
      expect(await counter.setAnnounced(other, 'c:room', true)).toBe(false);
    });

    it('is atomic across nodes: concurrent adds see every count once, one of many announcers wins', async () => {
      const nodes = [counter, await fx.another(), await fx.another()];
      const ups = await Promise.all(Array.from({ length: 30 }, (_, i) => nodes[i % 3].add(app, 'c:busy', 1)));
      expect([...ups].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      const prev = await Promise.all(
        Array.from({ length: 30 }, (_, i) => nodes[i % 3].setAnnounced(app, 'c:busy', true)),
      );
      expect(prev.filter((p) => !p)).toHaveLength(1);
      const downs = await Promise.all(
        Array.from({ length: 30 }, (_, i) => nodes[(i + 1) % 3].add(app, 'c:busy', -1)),
      );
      expect(downs.filter((n) => n === 0)).toHaveLength(1);
      expect(await counter.count(app, 'c:busy')).toBe(0);
    });
  });
}
