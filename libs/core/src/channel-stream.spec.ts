import type { DisconnectDef } from '@herald/protocol';
import type { HistoryEntry } from '@herald/history';
import { ChannelStream, MAX_PENDING, type GapReader } from './channel-stream.js';
import { OutFrame, pubFrameJson, withOffset } from './out-frame.js';
import type { Session, Transport } from './session.js';

/** A session stand-in that records the offsets it was sent. */
function fakeSession(): Session & { got: number[] } {
  const got: number[] = [];
  const transport: Transport = {
    kind: 'websocket',
    send: () => true,
    close: (_d: DisconnectDef) => undefined,
  };
  return {
    got,
    transport,
    send(frame: OutFrame) {
      got.push((JSON.parse(frame.json) as { pub: { offset: number } }).pub.offset);
      return true;
    },
  } as unknown as Session & { got: number[] };
}

const EPOCH = 'e1';
const frame = (o: number) => new OutFrame(pubFrameJson('ch', withOffset(o, '{"data":1}')));
const entries = (from: number, to: number): HistoryEntry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ offset: from + i, value: '{"data":1}' }));

function setup(reader: GapReader = async () => ({ entries: [], position: { offset: 0, epoch: EPOCH } })) {
  const dropped: Session[] = [];
  const stream = new ChannelStream('app', 'ch', reader, (s) => dropped.push(...s));
  return { stream, dropped };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('ChannelStream', () => {
  it('delivers in order and drops duplicates', () => {
    const { stream } = setup();
    const s = fakeSession();
    stream.addJoiner(s);
    stream.completeJoin(s, { offset: 0, epoch: EPOCH });
    for (const o of [1, 2, 2, 1, 3]) stream.onPublication(o, EPOCH, frame(o));
    expect(s.got).toEqual([1, 2, 3]);
  });

  it('fills a gap from history before delivering what came after it', async () => {
    const reads: { since: number; limit: number }[] = [];
    const { stream, dropped } = setup(async (since, limit) => {
      reads.push({ since: since.offset, limit });
      return { entries: entries(2, 3), position: { offset: 4, epoch: EPOCH } };
    });
    const s = fakeSession();
    stream.addJoiner(s);
    stream.completeJoin(s, { offset: 0, epoch: EPOCH });
    stream.onPublication(1, EPOCH, frame(1));
    stream.onPublication(4, EPOCH, frame(4));
    stream.onPublication(5, EPOCH, frame(5)); // arrives while the gap is being filled
    await settle();
    expect(reads).toEqual([{ since: 1, limit: 2 }]);
    expect(s.got).toEqual([1, 2, 3, 4, 5]);
    expect(dropped).toEqual([]);
  });

  it('disconnects subscribers when history cannot fill the gap (never a silent gap)', async () => {
    const { stream, dropped } = setup(async () => ({
      entries: entries(3, 3),
      position: { offset: 4, epoch: EPOCH },
    }));
    const s = fakeSession();
    stream.addJoiner(s);
    stream.completeJoin(s, { offset: 1, epoch: EPOCH });
    stream.onPublication(4, EPOCH, frame(4));
    await settle();
    expect(s.got).toEqual([]);
    expect(dropped).toEqual([s]);
  });

  it('disconnects subscribers when the history read fails', async () => {
    const { stream, dropped } = setup(async () => {
      throw new Error('store down');
    });
    const s = fakeSession();
    stream.addJoiner(s);
    stream.completeJoin(s, { offset: 0, epoch: EPOCH });
    stream.onPublication(2, EPOCH, frame(2));
    await settle();
    expect(dropped).toEqual([s]);
  });

  it('disconnects subscribers when the epoch changes', () => {
    const { stream, dropped } = setup();
    const s = fakeSession();
    stream.addJoiner(s);
    stream.completeJoin(s, { offset: 5, epoch: EPOCH });
    stream.onPublication(1, 'e2', frame(1));
    expect(dropped).toEqual([s]);
    expect(s.got).toEqual([]);
  });

  it('holds publications for a joiner until its position is known, then sends only newer ones', () => {
    const { stream } = setup();
    const a = fakeSession();
    stream.addJoiner(a);
    stream.completeJoin(a, { offset: 0, epoch: EPOCH });
    stream.onPublication(1, EPOCH, frame(1));
    const b = fakeSession();
    stream.addJoiner(b);
    stream.onPublication(2, EPOCH, frame(2));
    stream.onPublication(3, EPOCH, frame(3));
    // b read position 2 from history (offset 2 was already stored when it read).
    stream.completeJoin(b, { offset: 2, epoch: EPOCH });
    stream.onPublication(4, EPOCH, frame(4));
    expect(a.got).toEqual([1, 2, 3, 4]);
    expect(b.got).toEqual([3, 4]);
  });

  it('a joiner ahead of the stream gets nothing twice and is promoted when the stream catches up', () => {
    const { stream } = setup();
    const a = fakeSession();
    stream.addJoiner(a);
    stream.completeJoin(a, { offset: 0, epoch: EPOCH });
    const b = fakeSession();
    stream.addJoiner(b);
    // b read position 2, but the node has delivered nothing yet (1 and 2 are still on the bus).
    stream.completeJoin(b, { offset: 2, epoch: EPOCH });
    for (const o of [1, 2, 3]) stream.onPublication(o, EPOCH, frame(o));
    expect(a.got).toEqual([1, 2, 3]);
    expect(b.got).toEqual([3]);
    expect(stream.subscribers.has(b)).toBe(true);
  });

  it('queues publications that arrive before the first position is known', () => {
    const { stream } = setup();
    const s = fakeSession();
    stream.addJoiner(s);
    stream.onPublication(3, EPOCH, frame(3));
    stream.onPublication(2, EPOCH, frame(2));
    stream.completeJoin(s, { offset: 1, epoch: EPOCH });
    expect(s.got).toEqual([2, 3]);
  });

  it('gives up with bounded memory when a gap cannot be closed quickly', async () => {
    let release: () => void = () => undefined;
    const { stream, dropped } = setup(
      () =>
        new Promise((resolve) => {
          release = () => resolve({ entries: [], position: { offset: 0, epoch: EPOCH } });
        }),
    );
    const s = fakeSession();
    stream.addJoiner(s);
    stream.completeJoin(s, { offset: 0, epoch: EPOCH });
    stream.onPublication(2, EPOCH, frame(2)); // gap: 1 missing, read pending
    for (let o = 3; o <= MAX_PENDING + 3; o++) stream.onPublication(o, EPOCH, frame(o));
    expect(dropped).toEqual([s]);
    release();
    await settle();
  });

  it('unordered frames go to current subscribers only', () => {
    const { stream } = setup();
    const sent: string[] = [];
    const s = { send: (f: OutFrame) => sent.push(f.json) } as unknown as Session;
    stream.subscribers.add(s);
    stream.deliverUnordered(new OutFrame('{"push":"join"}'));
    expect(sent).toEqual(['{"push":"join"}']);
  });
});

describe('OutFrame', () => {
  it.each([5, 125, 126, 65535, 65536, 70000])('frames %i-byte payloads per RFC 6455', (n) => {
    const json = JSON.stringify('x'.repeat(n - 2));
    const f = new OutFrame(json).wsFrame();
    expect(f[0]).toBe(0x81);
    let len = f[1] & 0x7f;
    let header = 2;
    if (len === 126) {
      len = f.readUInt16BE(2);
      header = 4;
    } else if (len === 127) {
      len = Number(f.readBigUInt64BE(2));
      header = 10;
    }
    expect(len).toBe(n);
    expect(f.subarray(header).toString()).toBe(json);
  });

  it('encodes once and reuses the bytes', () => {
    const f = new OutFrame('{"a":1}');
    expect(f.wsFrame()).toBe(f.wsFrame());
  });
});
