import { ManualClock, presenceRegistryContract } from '@herald/testing';
import { MemoryPresenceRegistry } from './memory.presence-registry.js';

presenceRegistryContract('MemoryPresenceRegistry', async () => {
  const clock = new ManualClock();
  const registry = new MemoryPresenceRegistry({ now: clock.now, sweepIntervalMs: 0 });
  return { registry, clock, teardown: async () => registry.close() };
});

presenceRegistryContract(
  'MemoryPresenceRegistry on real time',
  async () => {
    const registry = new MemoryPresenceRegistry();
    return { registry, teardown: async () => registry.close() };
  },
  { manualClock: false },
);

describe('MemoryPresenceRegistry', () => {
  let clock: ManualClock;
  let reg: MemoryPresenceRegistry;
  beforeEach(() => {
    clock = new ManualClock();
    reg = new MemoryPresenceRegistry({ now: clock.now, sweepIntervalMs: 0 });
  });
  afterEach(() => reg.close());

  it('frees every map once entries expired and were swept', async () => {
    for (let i = 0; i < 20; i++) {
      await reg.addConnection(`app${i % 3}`, { client: `c${i}`, user: `u${i % 5}`, node: 'n' }, 1000);
      await reg.join(`app${i % 3}`, `ch${i % 4}`, { client: `c${i}`, user: `u${i % 5}` }, 1000);
    }
    expect(reg.size()).toEqual({ apps: 3, connections: 20, members: 20, pendingExpired: 0 });
    clock.advance(1000);
    expect(await reg.sweep()).toHaveLength(20);
    expect(reg.size()).toEqual({ apps: 0, connections: 0, members: 0, pendingExpired: 0 });
  });

  it('frees every map once connections are removed', async () => {
    await reg.addConnection('a', { client: 'c1', user: 'u1', node: 'n' }, 1000);
    await reg.join('a', 'ch1', { client: 'c1', user: 'u1' }, 1000);
    await reg.join('a', 'ch2', { client: 'c1', user: 'u1' }, 1000);
    await reg.removeConnection('a', 'c1');
    expect(reg.size()).toEqual({ apps: 0, connections: 0, members: 0, pendingExpired: 0 });
  });

  it('keeps counts exact with two TTLs in use', async () => {
    await reg.addConnection('a', { client: 'long', user: 'u', node: 'n' }, 2000);
    await reg.addConnection('a', { client: 'short', user: 'u', node: 'n' }, 1000);
    clock.advance(1000);
    expect(await reg.countUserConnections('a', 'u')).toBe(1);
    clock.advance(1000);
    expect(await reg.isUserOnline('a', 'u')).toBe(false);
  });

  it('bounds the expired members waiting for sweep()', async () => {
    const small = new MemoryPresenceRegistry({ now: clock.now, sweepIntervalMs: 0, maxPendingExpired: 2 });
    for (let i = 0; i < 3; i++) await small.join('a', 'ch', { client: `c${i}`, user: 'u' }, 1000);
    clock.advance(1000);
    const expired = await small.sweep();
    expect(expired.map((m) => m.client)).toEqual(['c1', 'c2']);
    small.close();
  });

  it('moves a connection to its new user when re-added with another user', async () => {
    await reg.addConnection('a', { client: 'c1', user: 'u1', node: 'n' }, 1000);
    await reg.addConnection('a', { client: 'c1', user: 'u2', node: 'n' }, 1000);
    expect(await reg.isUserOnline('a', 'u1')).toBe(false);
    expect(await reg.countUserConnections('a', 'u2')).toBe(1);
  });
});
