import { Topics, type Bus, type BusHandler, type BusSubscription } from '@herald/bus';
import { MemoryHistoryStore } from '@herald/history';
import { Hub } from './hub.js';

/** Records which topics the hub consumes. */
class RecordingBus implements Bus {
  readonly topics: string[] = [];
  async publish(): Promise<void> {}
  async subscribe(topic: string, _o: object, _h: BusHandler): Promise<BusSubscription> {
    this.topics.push(topic);
    return { close: async () => undefined };
  }
  async close(): Promise<void> {}
}

describe('Hub', () => {
  it('consumes publications only where client transports run; control everywhere', async () => {
    const history = new MemoryHistoryStore({ sweepIntervalMs: 0 });
    const apiBus = new RecordingBus();
    await new Hub(apiBus, history).onModuleInit();
    expect(apiBus.topics).toEqual([Topics.CONTROL]);

    const gatewayBus = new RecordingBus();
    await new Hub(gatewayBus, history, undefined, undefined, true).onModuleInit();
    expect(gatewayBus.topics.sort()).toEqual([Topics.CONTROL, Topics.PUBLICATIONS].sort());
  });
});
