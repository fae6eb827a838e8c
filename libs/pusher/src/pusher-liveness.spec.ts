import { PusherLiveness, type LivenessTarget } from './pusher-liveness.js';

function target(at: number): LivenessTarget & { pings: number[]; timedOut: boolean } {
  const t: LivenessTarget & { pings: number[]; timedOut: boolean } = {
    lastActivityAt: at,
    pingSentAt: 0,
    pings: [],
    timedOut: false,
    ping: () => {
      t.pings.push(t.pingSentAt);
    },
    timeout: () => {
      t.timedOut = true;
    },
  };
  return t;
}

describe('PusherLiveness', () => {
  it('pings after the activity timeout without messages, and closes when no message follows', () => {
    const l = new PusherLiveness(2000, 1000);
    const t = target(0);
    l.add(t);
    l.tick(1999);
    expect(t.pings).toEqual([]);
    l.tick(2000);
    expect(t.pings).toEqual([2000]);
    l.tick(2999);
    expect(t.timedOut).toBe(false);
    expect(t.pings).toEqual([2000]); // one ping per silence
    l.tick(3000);
    expect(t.timedOut).toBe(true);
    expect(l.size).toBe(0);
  });

  it('a pong (or any message) after the ping resets the cycle', () => {
    const l = new PusherLiveness(2000, 1000);
    const t = target(0);
    l.add(t);
    l.tick(2000);
    t.lastActivityAt = 2500; // the pong
    l.tick(3500);
    expect(t.timedOut).toBe(false);
    expect(t.pingSentAt).toBe(0);
    l.tick(4499);
    expect(t.pings).toEqual([2000]);
    l.tick(4500);
    expect(t.pings).toEqual([2000, 4500]);
  });

  it('never pings a client that keeps sending', () => {
    const l = new PusherLiveness(2000, 1000);
    const t = target(0);
    l.add(t);
    for (let now = 1000; now <= 20_000; now += 1000) {
      t.lastActivityAt = now - 500;
      l.tick(now);
    }
    expect(t.pings).toEqual([]);
    l.delete(t);
    l.tick(100_000);
    expect(t.pings).toEqual([]);
  });
});
