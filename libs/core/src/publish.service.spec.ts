import type { Bus, BusHandler, BusSubscription } from '@herald/bus';
import { nodeConfigSchema, type AppConfig, type NodeConfig } from '@herald/config';
import { MemoryHistoryStore } from '@herald/history';
import { ErrorCode, HeraldError } from '@herald/protocol';
import { MemoryIdempotencyStore, MemoryRateLimiter } from '@herald/state';
import { decodeChannelRecord } from './envelope.js';
import { PublishService } from './publish.service.js';

/** A bus that records what it accepted and can be told to refuse the next publishes. */
class FlakyBus implements Bus {
  readonly accepted: { key: string; offset?: number }[] = [];
  failNext = 0;
  async publish(_topic: string, key: string, value: Buffer): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new HeraldError(ErrorCode.UNAVAILABLE, 'bus down');
    }
    const { header } = decodeChannelRecord(value);
    this.accepted.push({ key, offset: header.k === 'pub' ? header.o : undefined });
  }
  async subscribe(_t: string, _o: object, _h: BusHandler): Promise<BusSubscription> {
    return { close: async () => undefined };
  }
  async close(): Promise<void> {}
}

function setup() {
  const config: NodeConfig = nodeConfigSchema.parse({
    control: { driver: 'config' },
    apps: [
      {
        id: 'acme',
        keys: ['acme-key-1'],
        secrets: ['s'.repeat(20) + 'abcdefghijklmnopqrstuvwxyz'],
        namespaces: { default: { historySize: 10 } },
      },
    ],
  });
  const app: AppConfig = config.apps[0];
  const bus = new FlakyBus();
  const history = new MemoryHistoryStore({ sweepIntervalMs: 0 });
  const idempotency = new MemoryIdempotencyStore({ sweepIntervalMs: 0 });
  const limiter = new MemoryRateLimiter({ sweepIntervalMs: 0 });
  const service = new PublishService(config, bus, history, idempotency, limiter);
  return { app, bus, history, service, close: () => [idempotency, limiter].forEach((x) => x.close()) };
}

describe('PublishService', () => {
  it('assigns consecutive offsets and sends each publication once', async () => {
    const { app, bus, service, close } = setup();
    expect(await service.publish(app, { channel: 'c', data: 1 })).toMatchObject({ offset: 1 });
    expect(await service.publish(app, { channel: 'c', data: 2 })).toMatchObject({ offset: 2 });
    expect(bus.accepted.map((r) => r.offset)).toEqual([1, 2]);
    close();
  });

  it('a retry after the bus refused re-sends the same record instead of appending again', async () => {
    const { app, bus, history, service, close } = setup();
    bus.failNext = 1;
    await expect(
      service.publish(app, { channel: 'c', data: 'x' }, { idempotencyKey: 'k1' }),
    ).rejects.toMatchObject({
      def: ErrorCode.UNAVAILABLE,
    });
    const first = await service.publish(app, { channel: 'c', data: 'x' }, { idempotencyKey: 'k1' });
    expect(first).toMatchObject({ offset: 1 });
    expect(bus.accepted.map((r) => r.offset)).toEqual([1]);
    expect((await history.read('acme', 'c', {})).entries).toHaveLength(1);
    // Once sent, further retries return the first result and send nothing.
    expect(await service.publish(app, { channel: 'c', data: 'x' }, { idempotencyKey: 'k1' })).toEqual(first);
    expect(bus.accepted).toHaveLength(1);
    close();
  });

  it('refuses a key reused for a different request, and a concurrent duplicate', async () => {
    const { app, service, close } = setup();
    const slow = service.publish(app, { channel: 'c', data: 1 }, { idempotencyKey: 'k2' });
    await expect(
      service.publish(app, { channel: 'c', data: 1 }, { idempotencyKey: 'k2' }),
    ).rejects.toMatchObject({
      def: ErrorCode.IDEMPOTENCY_CONFLICT,
    });
    await slow;
    await expect(
      service.publish(app, { channel: 'c', data: 2 }, { idempotencyKey: 'k2' }),
    ).rejects.toMatchObject({
      def: ErrorCode.IDEMPOTENCY_MISMATCH,
    });
    await expect(service.broadcast(app, ['c'], 1, { idempotencyKey: 'k2' })).rejects.toMatchObject({
      def: ErrorCode.IDEMPOTENCY_MISMATCH,
    });
    close();
  });

  it('reports a failing channel of a broadcast in its own entry', async () => {
    const { app, service, close } = setup();
    const { responses } = await service.broadcast(app, ['a', 'nowhere:x', 'b'], 1);
    expect(responses.map((r) => ('error' in r ? r.error.code : r.offset))).toEqual([
      1,
      ErrorCode.UNKNOWN_CHANNEL.code,
      1,
    ]);
    close();
  });
});
