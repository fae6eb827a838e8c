import { busContract, deferred, waitFor } from '@herald/testing';
import type { BusRecord } from '../bus.js';
import { type BusErrorContext, MemoryBus, partitionOf, type Scheduler } from './memory.bus.js';

const quiet = (): void => {};

busContract('MemoryBus', async () => {
  const bus = new MemoryBus({ onError: quiet, retryBackoff: { baseMs: 1, maxMs: 5 } });
  return { bus, teardown: () => bus.close() };
});

/** A scheduler the test fires by hand, recording the delays asked for. */
function manualScheduler(): { schedule: Scheduler; delays: number[]; fire(): void } {
  const pending: (() => void)[] = [];
  const delays: number[] = [];
  return {
    delays,
    schedule: (fn, delayMs) => {
      delays.push(delayMs);
      pending.push(fn);
      return () => pending.splice(pending.indexOf(fn), 1);
    },
    fire: () => pending.splice(0).forEach((fn) => fn()),
  };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('MemoryBus', () => {
  let bus: MemoryBus | undefined;
  afterEach(async () => {
    await bus?.close();
    bus = undefined;
  });

  describe('partitioning', () => {
    it('maps a key with FNV-1a, stable across versions', () => {
      expect(partitionOf('', 16)).toBe(0x811c9dc5 % 16);
      expect(partitionOf('a', 1 << 30)).toBe(0xe40c292c % (1 << 30));
      expect(partitionOf('foobar', 1 << 30)).toBe(0xbf9cf968 % (1 << 30));
    });

    it('spreads keys over the configured partitions (default 16)', async () => {
      for (const partitions of [undefined, 4]) {
        const b = new MemoryBus({ partitions });
        const seen = new Set<number>();
        await b.subscribe('t', {}, async (r) => void seen.add(r.partition));
        for (let i = 0; i < 200; i++) await b.publish('t', `app:user:${i}`, Buffer.from('x'));
        await waitFor(() => seen.size === (partitions ?? 16));
        expect(Math.max(...seen)).toBe((partitions ?? 16) - 1);
        await b.close();
      }
      bus = new MemoryBus();
      expect(() => new MemoryBus({ partitions: 0 })).toThrow(RangeError);
    });

    it('numbers offsets per partition from 0', async () => {
      bus = new MemoryBus({ partitions: 1 });
      const offsets: number[] = [];
      await bus.subscribe('t', {}, async (r) => void offsets.push(r.offset));
      for (let i = 0; i < 3; i++) await bus.publish('t', `k${i}`, Buffer.from('x'));
      await waitFor(() => offsets.length === 3);
      expect(offsets).toEqual([0, 1, 2]);
    });
  });

  describe('dispatch', () => {
    it('never runs a handler inside publish(), and publish() does not wait for handlers', async () => {
      bus = new MemoryBus();
      const gate = deferred();
      let calls = 0;
      await bus.subscribe('t', {}, () => {
        calls++;
        return gate.promise;
      });
      const published = bus.publish('t', 'k', Buffer.from('x'));
      expect(calls).toBe(0);
      await published;
      await flush();
      expect(calls).toBe(1);
      gate.resolve();
    });

    it('spreads a group’s partitions over its members', async () => {
      bus = new MemoryBus({ partitions: 8 });
      const counts = [0, 0, 0];
      for (let m = 0; m < 3; m++) await bus.subscribe('t', { group: 'g' }, async () => void counts[m]++);
      for (let i = 0; i < 100; i++) await bus.publish('t', `k${i}`, Buffer.from('x'));
      await waitFor(() => counts.reduce((a, b) => a + b) === 100);
      expect(counts.every((c) => c > 0)).toBe(true);
    });

    it('treats a handler that throws synchronously like one that rejects', async () => {
      const errors: unknown[] = [];
      bus = new MemoryBus({ onError: (e) => errors.push(e) });
      const seen: string[] = [];
      await bus.subscribe('t', {}, (r) => {
        seen.push(r.value.toString());
        if (seen.length === 1) throw new Error('sync');
        return Promise.resolve();
      });
      await bus.publish('t', 'k', Buffer.from('1'));
      await bus.publish('t', 'k', Buffer.from('2'));
      await waitFor(() => seen.length === 2);
      expect(errors).toEqual([new Error('sync')]);
    });
  });

  describe('failures', () => {
    it('redelivers with a doubling backoff capped at maxMs, reporting each failure', async () => {
      const sched = manualScheduler();
      const reports: BusErrorContext[] = [];
      bus = new MemoryBus({
        schedule: sched.schedule,
        retryBackoff: { baseMs: 10, maxMs: 50 },
        onError: (_e, ctx) => reports.push(ctx),
      });
      let attempts = 0;
      await bus.subscribe('t', { group: 'g' }, async () => {
        if (++attempts <= 5) throw new Error('down');
      });
      await bus.publish('t', 'k', Buffer.from('x'));
      for (let i = 0; i < 5; i++) {
        await waitFor(() => sched.delays.length === i + 1);
        sched.fire();
      }
      await waitFor(() => attempts === 6);
      expect(sched.delays).toEqual([10, 20, 40, 50, 50]);
      expect(reports).toHaveLength(5);
      expect(reports[0]).toMatchObject({ topic: 't', group: 'g', record: { key: 'k', offset: 0 } });
      // Success resets the backoff.
      await bus.publish('t', 'k', Buffer.from('y'));
      await waitFor(() => attempts === 7);
      expect(sched.delays).toHaveLength(5);
    });

    it('reports a rejecting broadcast handler with its record, no group', async () => {
      const reports: [unknown, BusErrorContext][] = [];
      bus = new MemoryBus({ onError: (e, ctx) => reports.push([e, ctx]) });
      await bus.subscribe('t', {}, async () => {
        throw new Error('nope');
      });
      await bus.publish('t', 'k', Buffer.from('x'));
      await waitFor(() => reports.length === 1);
      expect(reports[0][0]).toEqual(new Error('nope'));
      expect(reports[0][1].group).toBeUndefined();
      expect((reports[0][1].record as BusRecord).key).toBe('k');
    });

    it('cancels pending redeliveries on close', async () => {
      const sched = manualScheduler();
      bus = new MemoryBus({ schedule: sched.schedule, onError: quiet });
      let attempts = 0;
      await bus.subscribe('t', { group: 'g' }, async () => {
        attempts++;
        throw new Error('down');
      });
      await bus.publish('t', 'k', Buffer.from('x'));
      await waitFor(() => sched.delays.length === 1);
      await bus.close();
      sched.fire();
      await flush();
      expect(attempts).toBe(1);
    });
  });

  describe('boundedness', () => {
    it('keeps nothing for a topic nobody reads', async () => {
      bus = new MemoryBus();
      for (let i = 0; i < 100; i++) await bus.publish('t', `k${i}`, Buffer.from('x'));
      expect(bus.retained('t')).toBe(0);
    });

    it('trims records every reader has passed', async () => {
      bus = new MemoryBus({ partitions: 2 });
      let broadcast = 0;
      let group = 0;
      await bus.subscribe('t', {}, async () => void broadcast++);
      await bus.subscribe('t', { group: 'g' }, async () => void group++);
      for (let i = 0; i < 3000; i++) await bus.publish('t', `k${i % 7}`, Buffer.from('x'));
      await waitFor(() => broadcast === 3000 && group === 3000);
      expect(bus.retained('t')).toBe(0);
    });

    it('keeps what a slow reader has not read, and trims it once read', async () => {
      bus = new MemoryBus({ partitions: 1 });
      const gate = deferred();
      let slow = 0;
      await bus.subscribe('t', {}, async () => void 0);
      await bus.subscribe('t', {}, async () => {
        slow++;
        await gate.promise;
      });
      for (let i = 0; i < 10; i++) await bus.publish('t', 'k', Buffer.from('x'));
      await waitFor(() => slow === 1);
      expect(bus.retained('t')).toBe(10);
      gate.resolve();
      await waitFor(() => slow === 10);
      await flush();
      expect(bus.retained('t')).toBe(0);
    });

    it('keeps records for a group with no live member, up to maxRecordsPerPartition', async () => {
      const errors: unknown[] = [];
      bus = new MemoryBus({ partitions: 1, maxRecordsPerPartition: 5, onError: (e) => errors.push(e) });
      const sub = await bus.subscribe('t', { group: 'g' }, async () => {});
      await sub.close();
      for (let i = 0; i < 8; i++) await bus.publish('t', 'k', Buffer.from(String(i)));
      expect(bus.retained('t')).toBe(5);
      const seen: string[] = [];
      await bus.subscribe('t', { group: 'g' }, async (r) => void seen.push(r.value.toString()));
      await waitFor(() => seen.length === 5);
      expect(seen).toEqual(['3', '4', '5', '6', '7']);
      expect(errors).toEqual([new Error('3 records evicted unread (maxRecordsPerPartition)')]);
      expect(bus.retained('t')).toBe(0);
    });

    it('drops records behind a closed broadcast subscriber', async () => {
      bus = new MemoryBus({ partitions: 1 });
      const gate = deferred();
      const sub = await bus.subscribe('t', {}, () => gate.promise);
      for (let i = 0; i < 5; i++) await bus.publish('t', 'k', Buffer.from('x'));
      await flush();
      expect(bus.retained('t')).toBe(5);
      const closing = sub.close();
      gate.resolve();
      await closing;
      expect(bus.retained('t')).toBe(0);
    });
  });
});
