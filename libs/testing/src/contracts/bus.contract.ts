import type { Bus, BusHandler, BusRecord, BusSubscription } from '@herald/bus';
import { uniqueId } from '../unique-id.js';
import { deferred, waitFor } from '../wait-for.js';
import { type ContractFixture, SLOW_TEST_MS } from './fixture.js';

export interface BusFixture extends ContractFixture {
  bus: Bus;
}

/** What a test handler saw, in handling order. */
interface Seen {
  key: string;
  value: string;
  record: BusRecord;
}

/**
 * A chance for a misbehaving driver to do what it must not (deliver out of turn, run a handler
 * after close). A negative check has no event to wait on; this lets pending microtasks, timers of 0
 * and I/O callbacks run.
 */
async function quiesce(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setTimeout(resolve, 1));
}

/**
 * The Bus guarantees (libs/bus/src/bus.ts), for every driver. Each test uses a fresh topic, so
 * suites may share one broker.
 */
export function busContract(name: string, setup: () => Promise<BusFixture>): void {
  describe(`Bus contract: ${name}`, () => {
    let fx: BusFixture;
    let bus: Bus;
    let topic: string;

    beforeEach(async () => {
      fx = await setup();
      bus = fx.bus;
      topic = uniqueId('herald.test');
    });
    afterEach(async () => {
      await fx.teardown();
    });

    const pub = (key: string, value: string): Promise<void> => bus.publish(topic, key, Buffer.from(value));

    /**
     * A handler recording what it saw, optionally doing something first (await, throw). With
     * `recordWhen: 'end'` it records once its work finished, so overlapping handler runs show up
     * as disorder.
     */
    function recorder(
      before?: (seen: Seen) => Promise<void> | void,
      recordWhen: 'start' | 'end' = 'start',
    ): { seen: Seen[]; handler: BusHandler } {
      const seen: Seen[] = [];
      const handler: BusHandler = async (record) => {
        const s = { key: record.key, value: record.value.toString(), record };
        if (recordWhen === 'start') seen.push(s);
        await before?.(s);
        if (recordWhen === 'end') seen.push(s);
      };
      return { seen, handler };
    }

    const values = (seen: Seen[]): string[] => seen.map((s) => s.value);

    /** Asserts that for every key, values `${key}:${i}` appear with i increasing. */
    function expectPerKeyOrder(seen: Seen[]): void {
      const byKey = new Map<string, number[]>();
      for (const s of seen) {
        const list = byKey.get(s.key) ?? [];
        list.push(Number(s.value.split(':')[1]));
        byKey.set(s.key, list);
      }
      for (const [key, list] of byKey)
        expect({ key, list }).toEqual({ key, list: [...list].sort((a, b) => a - b) });
    }

    async function publishKeys(keys: number, perKey: number, prefix = 'k'): Promise<void> {
      for (let i = 0; i < perKey; i++) {
        for (let k = 0; k < keys; k++) await pub(`${prefix}${k}`, `${prefix}${k}:${i}`);
      }
    }

    describe('records', () => {
      it(
        'carry topic, key, value bytes, partition and offset; one key keeps one partition',
        async () => {
          const r = recorder();
          await bus.subscribe(topic, {}, r.handler);
          const bytes = Buffer.from([0, 1, 0xfe, 0xff, 0x80]);
          await bus.publish(topic, 'app1:chan:a', bytes);
          await bus.publish(topic, 'app1:chan:a', Buffer.from('ünïcødé ✓'));
          await bus.publish(topic, 'app1:chan:a', Buffer.alloc(0));
          await bus.publish(topic, 'app1:chan:b', Buffer.from('b'));
          await waitFor(() => r.seen.length === 4);
          const a = r.seen.filter((s) => s.key === 'app1:chan:a').map((s) => s.record);
          expect(a.map((rec) => rec.topic)).toEqual([topic, topic, topic]);
          expect(Buffer.compare(a[0].value, bytes)).toBe(0);
          expect(a[1].value.toString()).toBe('ünïcødé ✓');
          expect(a[2].value.length).toBe(0);
          expect(new Set(a.map((rec) => rec.partition)).size).toBe(1);
          for (const rec of r.seen.map((s) => s.record)) {
            expect(Number.isInteger(rec.partition) && rec.partition >= 0).toBe(true);
            expect(Number.isInteger(rec.offset) && rec.offset >= 0).toBe(true);
          }
          expect(a[1].offset).toBeGreaterThan(a[0].offset);
          expect(a[2].offset).toBeGreaterThan(a[1].offset);
        },
        SLOW_TEST_MS,
      );

      it(
        'keep topics apart',
        async () => {
          const other = uniqueId('herald.test');
          const r = recorder();
          await bus.subscribe(topic, {}, r.handler);
          await bus.publish(other, 'k', Buffer.from('other'));
          await pub('k', 'mine');
          await waitFor(() => r.seen.length >= 1);
          await quiesce();
          expect(values(r.seen)).toEqual(['mine']);
        },
        SLOW_TEST_MS,
      );
    });

    describe('broadcast', () => {
      it(
        'delivers only records published after subscribe resolved',
        async () => {
          await pub('k', 'before');
          const r = recorder();
          await bus.subscribe(topic, {}, r.handler);
          await pub('k', 'after:1');
          await pub('k', 'after:2');
          // Same key: had 'before' been delivered, per-key order puts it first.
          await waitFor(() => r.seen.length >= 2);
          await quiesce();
          expect(values(r.seen)).toEqual(['after:1', 'after:2']);
        },
        SLOW_TEST_MS,
      );

      it(
        'delivers every record to every subscriber, in per-key order, even to slow handlers',
        async () => {
          const subs = [
            recorder(),
            recorder(() => new Promise<void>((resolve) => setImmediate(resolve)), 'end'),
            recorder(async (s) => {
              if (Number(s.value.split(':')[1]) % 3 === 0) await new Promise<void>((r) => setTimeout(r, 1));
            }, 'end'),
          ];
          for (const s of subs) await bus.subscribe(topic, {}, s.handler);
          await publishKeys(8, 12);
          for (const s of subs) {
            await waitFor(() => s.seen.length >= 96, { message: 'every record' });
          }
          await quiesce();
          for (const s of subs) {
            expect(s.seen).toHaveLength(96);
            expect(new Set(values(s.seen)).size).toBe(96);
            expectPerKeyOrder(s.seen);
          }
        },
        SLOW_TEST_MS,
      );

      it(
        'skips a record whose handler rejected and goes on',
        async () => {
          const r = recorder((s) => {
            if (s.value === 'k:1') throw new Error('boom');
          });
          await bus.subscribe(topic, {}, r.handler);
          await pub('k', 'k:1');
          await pub('k', 'k:2');
          await pub('k', 'k:3');
          await waitFor(() => r.seen.length >= 3);
          await quiesce();
          expect(values(r.seen)).toEqual(['k:1', 'k:2', 'k:3']);
        },
        SLOW_TEST_MS,
      );
    });

    describe('consumer group', () => {
      it(
        'hands each record to exactly one member, in per-key order',
        async () => {
          const log: Seen[] = [];
          const a = recorder((s) => void log.push(s));
          const b = recorder(async (s) => {
            await new Promise<void>((resolve) => setImmediate(resolve));
            log.push(s);
          });
          await bus.subscribe(topic, { group: 'g' }, a.handler);
          await bus.subscribe(topic, { group: 'g' }, b.handler);
          await publishKeys(10, 10);
          await waitFor(() => log.length >= 100, { message: 'every record' });
          await quiesce();
          expect(log).toHaveLength(100);
          expect(new Set(values(log)).size).toBe(100);
          expectPerKeyOrder(log);
          // Each key stays with one member while membership is stable.
          const aKeys = new Set(a.seen.map((s) => s.key));
          expect(b.seen.filter((s) => aKeys.has(s.key))).toEqual([]);
        },
        SLOW_TEST_MS,
      );

      it(
        'gives every group every record',
        async () => {
          const g1 = recorder();
          const g2 = recorder();
          const broadcast = recorder();
          await bus.subscribe(topic, { group: 'g1' }, g1.handler);
          await bus.subscribe(topic, { group: 'g2' }, g2.handler);
          await bus.subscribe(topic, {}, broadcast.handler);
          await publishKeys(3, 5);
          for (const r of [g1, g2, broadcast]) await waitFor(() => r.seen.length >= 15);
          await quiesce();
          for (const r of [g1, g2, broadcast]) expect(new Set(values(r.seen)).size).toBe(15);
          expect(g1.seen).toHaveLength(15);
          expect(g2.seen).toHaveLength(15);
        },
        SLOW_TEST_MS,
      );

      it(
        'hands a rejected record out again before the next record of its partition',
        async () => {
          let failures = 0;
          const r = recorder((s) => {
            if (s.value === 'k:1' && failures < 2) {
              failures++;
              return Promise.reject(new Error('transient'));
            }
          });
          await bus.subscribe(topic, { group: 'g' }, r.handler);
          await pub('k', 'k:1');
          await pub('k', 'k:2');
          await pub('k', 'k:3');
          await waitFor(() => r.seen.length >= 5, { message: 'redelivery' });
          await quiesce();
          expect(values(r.seen)).toEqual(['k:1', 'k:1', 'k:1', 'k:2', 'k:3']);
        },
        SLOW_TEST_MS,
      );

      it(
        'processes a partition sequentially: the next record waits for the handler',
        async () => {
          const gate = deferred();
          const r = recorder((s) => (s.value === 'k:1' ? gate.promise : undefined));
          const observer = recorder();
          await bus.subscribe(topic, { group: 'g' }, r.handler);
          await bus.subscribe(topic, {}, observer.handler);
          await pub('k', 'k:1');
          await pub('k', 'k:2');
          await waitFor(() => r.seen.length >= 1 && observer.seen.length >= 2);
          await quiesce();
          expect(values(r.seen)).toEqual(['k:1']);
          gate.resolve();
          await waitFor(() => r.seen.length >= 2);
          expect(values(r.seen)).toEqual(['k:1', 'k:2']);
        },
        SLOW_TEST_MS,
      );

      it(
        'hands an uncommitted record to another member after its member left',
        async () => {
          const a = recorder(() => Promise.reject(new Error('always fails')));
          const subA = await bus.subscribe(topic, { group: 'g' }, a.handler);
          await pub('k', 'k:1');
          await waitFor(() => a.seen.length >= 1);
          await subA.close();
          const afterClose = a.seen.length;
          const b = recorder();
          await bus.subscribe(topic, { group: 'g' }, b.handler);
          await waitFor(() => b.seen.length >= 1, { message: 'redelivery to the new member' });
          expect(values(b.seen)).toEqual(['k:1']);
          expect(a.seen).toHaveLength(afterClose);
        },
        SLOW_TEST_MS,
      );

      it(
        'moves the partitions of a member that left to the remaining members',
        async () => {
          const a = recorder();
          const b = recorder();
          await bus.subscribe(topic, { group: 'g' }, a.handler);
          const subB = await bus.subscribe(topic, { group: 'g' }, b.handler);
          await subB.close();
          await publishKeys(20, 1);
          await waitFor(() => a.seen.length >= 20);
          await quiesce();
          expect(b.seen).toEqual([]);
          expect(new Set(values(a.seen)).size).toBe(20);
        },
        SLOW_TEST_MS,
      );

      it(
        'resumes from its committed position, with what was published while no member was live',
        async () => {
          const a = recorder();
          const subA = await bus.subscribe(topic, { group: 'g' }, a.handler);
          await pub('k', 'k:1');
          await pub('k', 'k:2');
          await waitFor(() => a.seen.length >= 2);
          await subA.close();
          await pub('k', 'k:3');
          await pub('k', 'k:4');
          const b = recorder();
          await bus.subscribe(topic, { group: 'g' }, b.handler);
          await waitFor(() => b.seen.length >= 2);
          await quiesce();
          expect(values(b.seen)).toEqual(['k:3', 'k:4']);
          expect(values(a.seen)).toEqual(['k:1', 'k:2']);
        },
        SLOW_TEST_MS,
      );

      it(
        'starts a group seen for the first time from the latest position',
        async () => {
          await pub('k', 'k:0');
          const r = recorder();
          await bus.subscribe(topic, { group: 'fresh' }, r.handler);
          await pub('k', 'k:1');
          await waitFor(() => r.seen.length >= 1);
          await quiesce();
          expect(values(r.seen)).toEqual(['k:1']);
        },
        SLOW_TEST_MS,
      );
    });

    describe('close', () => {
      for (const mode of ['broadcast', 'group'] as const) {
        it(
          `subscription close (${mode}) resolves after the in-flight handler; no handler runs after`,
          async () => {
            const gate = deferred();
            const r = recorder((s) => (s.value === 'k:1' ? gate.promise : undefined));
            const observer = recorder();
            const sub: BusSubscription = await bus.subscribe(
              topic,
              mode === 'group' ? { group: 'g' } : {},
              r.handler,
            );
            await bus.subscribe(topic, {}, observer.handler);
            await pub('k', 'k:1');
            await waitFor(() => r.seen.length >= 1);
            let closed = false;
            const closing = sub.close().then(() => {
              closed = true;
            });
            await pub('k', 'k:2');
            await waitFor(() => observer.seen.length >= 2);
            await quiesce();
            expect(closed).toBe(false);
            gate.resolve();
            await closing;
            await pub('k', 'k:3');
            await waitFor(() => observer.seen.length >= 3);
            await quiesce();
            expect(values(r.seen)).toEqual(['k:1']);
            await expect(sub.close()).resolves.toBeUndefined(); // idempotent
          },
          SLOW_TEST_MS,
        );
      }

      it(
        'bus close waits for in-flight handlers, stops delivery, rejects later publishes, and is idempotent',
        async () => {
          const gate = deferred();
          const r = recorder((s) => (s.value === 'k:1' ? gate.promise : undefined));
          await bus.subscribe(topic, {}, r.handler);
          await pub('k', 'k:1');
          await waitFor(() => r.seen.length >= 1);
          let closed = false;
          const closing = bus.close().then(() => {
            closed = true;
          });
          await quiesce();
          expect(closed).toBe(false);
          gate.resolve();
          await closing;
          await expect(pub('k', 'k:2')).rejects.toThrow();
          await quiesce();
          expect(values(r.seen)).toEqual(['k:1']);
          await expect(bus.close()).resolves.toBeUndefined();
        },
        SLOW_TEST_MS,
      );
    });
  });
}
