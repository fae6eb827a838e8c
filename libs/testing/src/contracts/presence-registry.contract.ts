import { requireClock, type ContractOptions } from './fixture.js';
import type { ExpiredMember, PresenceRegistry } from '@herald/presence';
import { uniqueId } from '../unique-id.js';
import { waitFor } from '../wait-for.js';
import { type ContractFixture, expirePast, SLOW_TEST_MS, TTL_MS } from './fixture.js';

export interface PresenceRegistryFixture extends ContractFixture {
  registry: PresenceRegistry;
}

/**
 * The PresenceRegistry guarantees (libs/presence/src/presence-registry.ts), for every driver. Each
 * test uses fresh app ids; `sweep()` is cluster-wide, so its results are filtered by app.
 */
export function presenceRegistryContract(
  name: string,
  setup: () => Promise<PresenceRegistryFixture>,
  options: ContractOptions = { manualClock: true },
): void {
  // Checks of exact timing need a clock the suite controls; on real time they are reported as skipped.
  const itManualClock = options.manualClock ? it : it.skip;
  describe(`PresenceRegistry contract: ${name}`, () => {
    let fx: PresenceRegistryFixture;
    let reg: PresenceRegistry;
    let app: string;
    const LONG = 60_000;
    const node = 'node-1';

    beforeEach(async () => {
      fx = await setup();
      reg = fx.registry;
      app = uniqueId('app');
    });
    afterEach(async () => {
      await fx.teardown();
    });

    const byClient = <T extends { client: string }>(list: T[]): T[] =>
      [...list].sort((a, b) => a.client.localeCompare(b.client));

    /** Sweeps until `count` members of `appId` were reported (real drivers expire on their own time). */
    async function sweepFor(appId: string, count: number): Promise<ExpiredMember[]> {
      const seen: ExpiredMember[] = [];
      const collect = async (): Promise<boolean> => {
        seen.push(...(await reg.sweep()).filter((m) => m.appId === appId));
        return seen.length >= count;
      };
      if (fx.clock) await collect();
      else await waitFor(collect, { timeoutMs: TTL_MS * 5 + 2000, message: `${count} expired members` });
      return seen;
    }

    describe('connections', () => {
      it('counts live connections per user and per app', async () => {
        expect(await reg.isUserOnline(app, 'u1')).toBe(false);
        await reg.addConnection(app, { client: 'c1', user: 'u1', node }, LONG);
        await reg.addConnection(app, { client: 'c2', user: 'u1', node: 'node-2' }, LONG);
        await reg.addConnection(app, { client: 'c3', user: 'u2', node }, LONG);
        expect(await reg.isUserOnline(app, 'u1')).toBe(true);
        expect(await reg.countUserConnections(app, 'u1')).toBe(2);
        expect(await reg.countUserConnections(app, 'u2')).toBe(1);
        expect(await reg.countUserConnections(app, 'u3')).toBe(0);
        expect(await reg.countConnections(app)).toBe(3);
      });

      it('counts a re-added connection once', async () => {
        await reg.addConnection(app, { client: 'c1', user: 'u1', node }, LONG);
        await reg.addConnection(app, { client: 'c1', user: 'u1', node }, LONG);
        expect(await reg.countConnections(app)).toBe(1);
        expect(await reg.countUserConnections(app, 'u1')).toBe(1);
      });

      it('removeConnection takes the user offline after their last connection', async () => {
        await reg.addConnection(app, { client: 'c1', user: 'u1', node }, LONG);
        await reg.addConnection(app, { client: 'c2', user: 'u1', node }, LONG);
        await reg.removeConnection(app, 'c1');
        expect(await reg.isUserOnline(app, 'u1')).toBe(true);
        expect(await reg.countUserConnections(app, 'u1')).toBe(1);
        await reg.removeConnection(app, 'c2');
        expect(await reg.isUserOnline(app, 'u1')).toBe(false);
        expect(await reg.countConnections(app)).toBe(0);
        await expect(reg.removeConnection(app, 'unknown')).resolves.toBeUndefined();
      });

      it('removeConnection removes every channel membership of the connection', async () => {
        await reg.addConnection(app, { client: 'c1', user: 'u1', node }, LONG);
        await reg.join(app, 'a', { client: 'c1', user: 'u1' }, LONG);
        await reg.join(app, 'b', { client: 'c1', user: 'u1' }, LONG);
        await reg.join(app, 'b', { client: 'c2', user: 'u2' }, LONG);
        await reg.removeConnection(app, 'c1');
        expect(await reg.members(app, 'a')).toEqual([]);
        expect(await reg.members(app, 'b')).toEqual([{ client: 'c2', user: 'u2' }]);
        expect(await reg.stats(app, 'b')).toEqual({ numClients: 1, numUsers: 1 });
      });
    });

    describe('channel members', () => {
      it('reports userJoined for a user’s first connection only, and numClients after the join', async () => {
        expect(await reg.join(app, 'ch', { client: 'c1', user: 'u1' }, LONG)).toEqual({
          userJoined: true,
          numClients: 1,
        });
        expect(await reg.join(app, 'ch', { client: 'c2', user: 'u1' }, LONG)).toEqual({
          userJoined: false,
          numClients: 2,
        });
        expect(await reg.join(app, 'ch', { client: 'c3', user: 'u2' }, LONG)).toEqual({
          userJoined: true,
          numClients: 3,
        });
        expect(await reg.stats(app, 'ch')).toEqual({ numClients: 3, numUsers: 2 });
      });

      it('lists one member per connection with its info', async () => {
        const info = { name: 'Zoë', tags: ['a', 'b'], n: 1 };
        await reg.join(app, 'ch', { client: 'c1', user: 'u1', info }, LONG);
        await reg.join(app, 'ch', { client: 'c2', user: 'u1' }, LONG);
        expect(byClient(await reg.members(app, 'ch'))).toEqual([
          { client: 'c1', user: 'u1', info },
          { client: 'c2', user: 'u1' },
        ]);
        expect(await reg.members(app, 'empty')).toEqual([]);
        expect(await reg.stats(app, 'empty')).toEqual({ numClients: 0, numUsers: 0 });
      });

      it('counts a re-joining connection once', async () => {
        await reg.join(app, 'ch', { client: 'c1', user: 'u1' }, LONG);
        expect(await reg.join(app, 'ch', { client: 'c1', user: 'u1', info: { v: 2 } }, LONG)).toEqual({
          userJoined: false,
          numClients: 1,
        });
        expect(await reg.members(app, 'ch')).toEqual([{ client: 'c1', user: 'u1', info: { v: 2 } }]);
      });

      it('reports userLeft when the user’s last connection leaves', async () => {
        await reg.join(app, 'ch', { client: 'c1', user: 'u1' }, LONG);
        await reg.join(app, 'ch', { client: 'c2', user: 'u1' }, LONG);
        expect(await reg.leave(app, 'ch', 'c1')).toEqual({ removed: true, userLeft: false });
        expect(await reg.leave(app, 'ch', 'c2')).toEqual({ removed: true, userLeft: true });
        expect(await reg.stats(app, 'ch')).toEqual({ numClients: 0, numUsers: 0 });
      });

      it('reports removed: false (and userLeft: false) for an unknown or departed connection', async () => {
        expect(await reg.leave(app, 'ch', 'ghost')).toEqual({ removed: false, userLeft: false });
        await reg.join(app, 'ch', { client: 'c1', user: 'u1' }, LONG);
        await reg.leave(app, 'ch', 'c1');
        expect(await reg.leave(app, 'ch', 'c1')).toEqual({ removed: false, userLeft: false });
      });

      it('keeps channels apart', async () => {
        await reg.join(app, 'a', { client: 'c1', user: 'u1' }, LONG);
        expect(await reg.join(app, 'b', { client: 'c1', user: 'u1' }, LONG)).toEqual({
          userJoined: true,
          numClients: 1,
        });
        await reg.leave(app, 'a', 'c1');
        expect(await reg.members(app, 'b')).toEqual([{ client: 'c1', user: 'u1' }]);
      });
    });

    describe('atomicity', () => {
      it('reports userJoined exactly once for concurrent joins of one user’s connections', async () => {
        const results = await Promise.all(
          ['c1', 'c2', 'c3', 'c4'].map((client) => reg.join(app, 'ch', { client, user: 'u1' }, LONG)),
        );
        expect(results.filter((r) => r.userJoined)).toHaveLength(1);
        expect(results.map((r) => r.numClients).sort()).toEqual([1, 2, 3, 4]);
      });

      it('reports userLeft exactly once for concurrent leaves of one user’s connections', async () => {
        const clients = ['c1', 'c2', 'c3', 'c4'];
        for (const client of clients) await reg.join(app, 'ch', { client, user: 'u1' }, LONG);
        const results = await Promise.all(clients.map((client) => reg.leave(app, 'ch', client)));
        expect(results.filter((r) => r.removed)).toHaveLength(4);
        expect(results.filter((r) => r.userLeft)).toHaveLength(1);
      });

      it('gives 50 concurrent joins of distinct users the counts 1..50', async () => {
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => reg.join(app, 'ch', { client: `c${i}`, user: `u${i}` }, LONG)),
        );
        expect(results.every((r) => r.userJoined)).toBe(true);
        expect(results.map((r) => r.numClients).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
      });
    });

    describe('TTL', () => {
      it(
        'treats a connection not refreshed within ttlMs as absent',
        async () => {
          await reg.addConnection(app, { client: 'c1', user: 'u1', node }, TTL_MS);
          await reg.addConnection(app, { client: 'c2', user: 'u2', node }, LONG);
          if (fx.clock) {
            fx.clock.advance(TTL_MS - 1);
            expect(await reg.isUserOnline(app, 'u1')).toBe(true);
            fx.clock.advance(1);
          }
          await expirePast(fx, 0, async () => !(await reg.isUserOnline(app, 'u1')));
          expect(await reg.countUserConnections(app, 'u1')).toBe(0);
          expect(await reg.countConnections(app)).toBe(1);
        },
        SLOW_TEST_MS,
      );

      it(
        'treats a member not refreshed within ttlMs as absent',
        async () => {
          await reg.join(app, 'ch', { client: 'c1', user: 'u1' }, TTL_MS);
          await reg.join(app, 'ch', { client: 'c2', user: 'u2' }, LONG);
          await expirePast(fx, TTL_MS, async () => (await reg.members(app, 'ch')).length === 1);
          expect(await reg.members(app, 'ch')).toEqual([{ client: 'c2', user: 'u2' }]);
          expect(await reg.stats(app, 'ch')).toEqual({ numClients: 1, numUsers: 1 });
          expect(await reg.leave(app, 'ch', 'c1')).toEqual({ removed: false, userLeft: false });
          // A new join after expiry is a fresh join.
          expect(await reg.join(app, 'ch', { client: 'c1', user: 'u1' }, LONG)).toEqual({
            userJoined: true,
            numClients: 2,
          });
        },
        SLOW_TEST_MS,
      );

      it(
        'refresh extends the connection and the listed memberships only',
        async () => {
          await reg.addConnection(app, { client: 'c1', user: 'u1', node }, TTL_MS);
          await reg.join(app, 'kept', { client: 'c1', user: 'u1' }, TTL_MS);
          await reg.join(app, 'dropped', { client: 'c1', user: 'u1' }, TTL_MS);
          await reg.refresh(app, 'c1', ['kept'], LONG);
          // A sentinel written after the others with the short TTL: once it expired, so did they.
          await reg.addConnection(app, { client: 'sentinel', user: 'sentinel', node }, TTL_MS);
          await expirePast(fx, TTL_MS, async () => !(await reg.isUserOnline(app, 'sentinel')));
          expect(await reg.isUserOnline(app, 'u1')).toBe(true);
          expect(await reg.members(app, 'kept')).toEqual([{ client: 'c1', user: 'u1' }]);
          expect(await reg.members(app, 'dropped')).toEqual([]);
        },
        SLOW_TEST_MS,
      );

      itManualClock('expires at exactly ttlMs after the last refresh (manual clock only)', async () => {
        const clock = requireClock(fx);
        await reg.addConnection(app, { client: 'c1', user: 'u1', node }, 1000);
        await reg.join(app, 'ch', { client: 'c1', user: 'u1' }, 1000);
        clock.advance(900);
        await reg.refresh(app, 'c1', ['ch'], 1000);
        clock.advance(999);
        expect(await reg.isUserOnline(app, 'u1')).toBe(true);
        expect(await reg.stats(app, 'ch')).toEqual({ numClients: 1, numUsers: 1 });
        clock.advance(1);
        expect(await reg.isUserOnline(app, 'u1')).toBe(false);
        expect(await reg.stats(app, 'ch')).toEqual({ numClients: 0, numUsers: 0 });
      });
    });

    describe('sweep', () => {
      it(
        'returns each expired member once, with userLeft for the user’s last connection',
        async () => {
          const info = { name: 'Ann' };
          await reg.join(app, 'ch', { client: 'c1', user: 'u1', info }, TTL_MS);
          await reg.join(app, 'ch', { client: 'c2', user: 'u1' }, TTL_MS);
          await reg.join(app, 'ch', { client: 'c3', user: 'u2' }, TTL_MS);
          await reg.join(app, 'other', { client: 'c1', user: 'u1', info }, TTL_MS);
          await reg.join(app, 'ch', { client: 'live', user: 'u3' }, LONG);
          if (fx.clock) fx.clock.advance(TTL_MS + 1);
          const expired = await sweepFor(app, 4);
          expect(byClient(expired.filter((m) => m.channel === 'ch'))).toEqual([
            expect.objectContaining({ appId: app, channel: 'ch', client: 'c1', user: 'u1', info }),
            expect.objectContaining({ appId: app, channel: 'ch', client: 'c2', user: 'u1' }),
            { appId: app, channel: 'ch', client: 'c3', user: 'u2', userLeft: true },
          ]);
          expect(expired.filter((m) => m.channel === 'ch' && m.user === 'u1' && m.userLeft)).toHaveLength(1);
          expect(expired.filter((m) => m.channel === 'other')).toEqual([
            { appId: app, channel: 'other', client: 'c1', user: 'u1', info, userLeft: true },
          ]);
          expect(expired).toHaveLength(4);
          expect((await reg.sweep()).filter((m) => m.appId === app)).toEqual([]);
          expect(await reg.members(app, 'ch')).toEqual([{ client: 'live', user: 'u3' }]);
        },
        SLOW_TEST_MS,
      );

      it(
        'still reports a member whose expiry a read noticed first',
        async () => {
          await reg.join(app, 'ch', { client: 'c1', user: 'u1' }, TTL_MS);
          await expirePast(fx, TTL_MS, async () => (await reg.members(app, 'ch')).length === 0);
          await reg.stats(app, 'ch');
          await reg.leave(app, 'ch', 'c1');
          expect(await sweepFor(app, 1)).toEqual([
            { appId: app, channel: 'ch', client: 'c1', user: 'u1', userLeft: true },
          ]);
        },
        SLOW_TEST_MS,
      );

      it(
        'reports each member to exactly one of several concurrent sweepers',
        async () => {
          for (let i = 0; i < 10; i++) await reg.join(app, 'ch', { client: `c${i}`, user: `u${i}` }, TTL_MS);
          await expirePast(fx, TTL_MS, async () => (await reg.stats(app, 'ch')).numClients === 0);
          const seen: ExpiredMember[] = [];
          const sweepAll = async (): Promise<boolean> => {
            const rounds = await Promise.all([reg.sweep(), reg.sweep(), reg.sweep()]);
            for (const r of rounds) seen.push(...r.filter((m) => m.appId === app));
            return seen.length >= 10;
          };
          if (fx.clock) await sweepAll();
          else await waitFor(sweepAll, { timeoutMs: TTL_MS * 5 + 2000 });
          expect(seen.map((m) => m.client).sort()).toEqual(
            Array.from({ length: 10 }, (_, i) => `c${i}`).sort(),
          );
        },
        SLOW_TEST_MS,
      );

      it(
        'does not report members that left or whose connection was removed',
        async () => {
          await reg.join(app, 'ch', { client: 'c1', user: 'u1' }, TTL_MS);
          await reg.join(app, 'ch', { client: 'c2', user: 'u2' }, TTL_MS);
          await reg.join(app, 'ch', { client: 'c3', user: 'u3' }, TTL_MS);
          await reg.leave(app, 'ch', 'c1');
          await reg.removeConnection(app, 'c2');
          if (fx.clock) fx.clock.advance(TTL_MS + 1);
          const expired = await sweepFor(app, 1); // c3 expires; c1 and c2 must not show up
          expect(expired.map((m) => m.client)).toEqual(['c3']);
          expect((await reg.sweep()).filter((m) => m.appId === app)).toEqual([]);
        },
        SLOW_TEST_MS,
      );
    });

    describe('isolation', () => {
      it('keeps apps apart with identical users, clients and channels', async () => {
        const other = uniqueId('app');
        for (const a of [app, other]) {
          await reg.addConnection(a, { client: 'c1', user: 'u1', node }, LONG);
          expect(await reg.join(a, 'ch', { client: 'c1', user: 'u1' }, LONG)).toEqual({
            userJoined: true,
            numClients: 1,
          });
        }
        expect(await reg.leave(app, 'ch', 'c1')).toEqual({ removed: true, userLeft: true });
        await reg.removeConnection(app, 'c1');
        expect(await reg.isUserOnline(other, 'u1')).toBe(true);
        expect(await reg.countConnections(other)).toBe(1);
        expect(await reg.members(other, 'ch')).toEqual([{ client: 'c1', user: 'u1' }]);
        expect(await reg.isUserOnline(app, 'u1')).toBe(false);
        expect(await reg.stats(app, 'ch')).toEqual({ numClients: 0, numUsers: 0 });
      });
    });
  });
}
