// A pool of subscriber connections and their delivery statistics. Used by the load generators
// (thousands of connections each) and by the publisher (its one probe connection).
//
// Statistics are kept for a measurement window [t0, t1) on the shared monotonic clock:
// - recvInWindow: deliveries received inside the window (throughput);
// - sentInWindow: deliveries of publications *sent* inside the window, whenever they arrive
//   (loss, compared with what the publisher sent in the window), and their latency histogram.
//   Keying latency on the send time means publications delivered late, after t1, still count.

import { RawWsClient } from './wsclient.mjs';
import { Histogram, nowUs, readUint, sleep, TS_MARKER, SEQ_MARKER } from './common.mjs';

const TS_SKIP = TS_MARKER.length;
const SEQ_SKIP = SEQ_MARKER.length;
const MAX_ATTEMPTS = 3;

export class SubscriberPool {
  /**
   * @param {object} o
   * @param {object} o.target target adapter (targets/*.mjs)
   * @param {object} o.ctx the target's shared context (secrets)
   * @param {number} o.port server port on 127.0.0.1
   * @param {number} o.firstIndex index of the first subscriber (user id u<index>)
   * @param {number} o.count connections to open
   * @param {string[]} [o.localAddresses] source addresses (127.0.x.y), used round-robin
   * @param {number} [o.concurrency] handshakes in flight at once
   * @param {boolean} [o.trackSeq] keep lastSeq, the highest sequence number received
   */
  constructor(o) {
    this.o = o;
    this.clients = [];
    this.subscribed = 0;
    this.failed = 0;
    this.dropped = 0;
    this.errors = []; // a few sample messages
    this.now = 0; // receive time of the chunk being parsed
    this.lastSeq = 0;
    this.onSeq = null; // optional callback after lastSeq advanced
    this.pingMarker = o.target.pingMarker ? Buffer.from(o.target.pingMarker) : null;
    this.setWindow(Infinity, Infinity);
  }

  setWindow(t0, t1) {
    this.t0 = t0;
    this.t1 = t1;
    this.total = 0;
    this.recvInWindow = 0;
    this.sentInWindow = 0;
    this.hist = new Histogram();
  }

  report() {
    return {
      total: this.total,
      recvInWindow: this.recvInWindow,
      sentInWindow: this.sentInWindow,
      hist: this.hist.toJSON(),
      open: this.subscribed - this.dropped,
      failed: this.failed,
      dropped: this.dropped,
      errors: this.errors,
    };
  }

  /** Opens every connection (at most `concurrency` handshakes at once); resolves when all settled. */
  async connectAll(onProgress) {
    const { count, concurrency = 200 } = this.o;
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
          const err = await this.connectOne(this.o.firstIndex + i);
          if (!err) break;
          if (attempt === MAX_ATTEMPTS) {
            this.failed++;
            this.noteError(err);
          } else await sleep(100 * attempt);
        }
        onProgress?.();
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  }

  /** Opens one connection and completes the target's handshake; resolves to an Error or null. */
  connectOne(index) {
    const { target, ctx, port, localAddresses } = this.o;
    return new Promise((resolve) => {
      let ready = false;
      const session = target.session(ctx, index);
      const send = (text) => client.sendText(text);
      const subscribedNow = () => {
        ready = true;
        this.subscribed++;
        this.clients.push(client);
        resolve(null);
      };
      const client = new RawWsClient({
        port,
        localAddress: localAddresses?.[index % localAddresses.length],
        path: target.wsPath(ctx),
        onOpen: () => {
          try {
            if (session.start(send)) subscribedNow();
          } catch (err) {
            client.finish(err);
          }
        },
        onChunk: (buf) => {
          this.now = nowUs();
          // Application-level pings are rare: one scan per chunk, not per message.
          if (this.pingMarker && buf.indexOf(this.pingMarker) >= 0) send(target.pong);
        },
        onMessage: (buf, start, end) => {
          if (ready) return this.onDelivery(buf, start, end);
          try {
            if (session.onText(buf.toString('utf8', start, end), send)) subscribedNow();
          } catch (err) {
            client.finish(err);
          }
        },
        onClose: (err) => {
          if (!ready) resolve(err ?? new Error('closed before subscribed'));
          else if (!this.closing) {
            this.dropped++;
            this.noteError(err ?? new Error('closed by server'));
          }
        },
      });
    });
  }

  /** Hot path: count every payload timestamp in the message and record its latency. */
  onDelivery(buf, start, end) {
    const now = this.now;
    const inRecvWindow = now >= this.t0 && now < this.t1;
    for (let pos = buf.indexOf(TS_MARKER, start); pos >= 0 && pos < end;) {
      const ts = readUint(buf, pos + TS_SKIP);
      this.total++;
      if (inRecvWindow) this.recvInWindow++;
      if (ts >= this.t0 && ts < this.t1) {
        this.sentInWindow++;
        this.hist.record(now - ts);
      }
      if (this.o.trackSeq) {
        const s = buf.indexOf(SEQ_MARKER, pos);
        if (s >= 0 && s < end) {
          const seq = readUint(buf, s + SEQ_SKIP);
          if (seq > this.lastSeq) this.lastSeq = seq;
          this.onSeq?.();
        }
      }
      pos = buf.indexOf(TS_MARKER, pos + TS_SKIP);
    }
  }

  noteError(err) {
    if (this.errors.length < 5) this.errors.push(String(err?.message ?? err));
  }

  closeAll() {
    this.closing = true;
    for (const c of this.clients) c.close();
  }
}
