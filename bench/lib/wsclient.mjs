// A minimal WebSocket client on a raw TCP socket, for the load generators.
//
// Why not the `ws` client: the subscribers run on one core and must keep up with a server core
// writing millions of small frames per second. `ws` allocates a Buffer and emits an event per
// message; this client parses frame headers in place and hands the caller (buffer, start, end)
// views into the received chunk, so a delivery costs a few comparisons and no allocation.
// It implements exactly what the benchmark needs: the HTTP upgrade, unmasked server frames of any
// length (text, binary, ping, close), and masked client text frames.

import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;

/** Receive buffer shared by all sockets: each read is parsed synchronously before the next one. */
const readBuffer = Buffer.allocUnsafe(256 * 1024);

export class RawWsClient {
  /**
   * @param {object} o
   * @param {number} o.port server port on 127.0.0.1
   * @param {string} o.path request path (with query)
   * @param {string} [o.localAddress] source address (127.0.0.x) for the TCP connection
   * @param {(buf: Buffer) => void} [o.onChunk] called once per received chunk (with any unparsed tail
   *   of the previous one prepended), before its messages
   * @param {(buf: Buffer, start: number, end: number) => void} o.onMessage text/binary payload view
   * @param {() => void} [o.onOpen] upgrade completed
   * @param {(err?: Error) => void} [o.onClose] connection closed (once)
   */
  constructor(o) {
    this.o = o;
    this.open = false;
    this.closed = false;
    this.rest = null; // unparsed tail of the previous chunk
    this.key = randomBytes(16).toString('base64');
    this.socket = net.connect({
      host: '127.0.0.1',
      port: o.port,
      localAddress: o.localAddress,
      // Read into one buffer shared by every socket of the process instead of a fresh Buffer
      // and a stream 'data' event per read: several µs less per read, which matters when every
      // delivery is its own read (servers that write each message separately).
      onread: {
        buffer: readBuffer,
        callback: (nread, buf) => {
          const chunk = buf.subarray(0, nread);
          if (this.open) this.onFrames(chunk);
          else this.onHandshake(chunk);
        },
      },
    });
    this.socket.setNoDelay(true);
    this.socket.on('connect', () => {
      this.socket.write(
        `GET ${o.path} HTTP/1.1\r\nHost: 127.0.0.1:${o.port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    this.socket.on('error', (err) => this.finish(err));
    this.socket.on('close', () => this.finish());
  }

  onHandshake(chunk) {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) {
      this.rest = Buffer.from(buf); // copy: buf may be the shared read buffer
      return;
    }
    this.rest = null;
    const head = buf.toString('latin1', 0, end);
    const accept = createHash('sha1')
      .update(this.key + WS_GUID)
      .digest('base64');
    if (!/^HTTP\/1\.1 101 /.test(head) || !head.includes(accept)) {
      this.finish(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
      return;
    }
    this.open = true;
    this.o.onOpen?.();
    if (end + 4 < buf.length) this.onFrames(buf.subarray(end + 4));
  }

  /**
   * Parses every complete frame in the chunk; copies an incomplete tail for the next chunk.
   * Message views handed to onMessage are only valid during the call.
   */
  onFrames(chunk) {
    let buf = chunk;
    if (this.rest) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    this.o.onChunk?.(buf);
    const n = buf.length;
    let off = 0;
    while (n - off >= 2) {
      const b0 = buf[off];
      let len = buf[off + 1] & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (n - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        hdr = 4;
      } else if (len === 127) {
        if (n - off < 10) break;
        len = buf.readUInt32BE(off + 2) * 2 ** 32 + buf.readUInt32BE(off + 6);
        hdr = 10;
      }
      if (n - off < hdr + len) break;
      const start = off + hdr;
      const end = start + len;
      const op = b0 & 0x0f;
      if (op === OP_TEXT || op === OP_BINARY || op === OP_CONT) this.o.onMessage(buf, start, end);
      else if (op === OP_PING) this.sendFrame(0xa, buf.subarray(start, end));
      else if (op === OP_CLOSE) {
        this.socket.end();
        this.finish(new Error(`closed by server (code ${len >= 2 ? buf.readUInt16BE(start) : 'none'})`));
        return;
      }
      off = end;
    }
    if (off < n) this.rest = Buffer.from(buf.subarray(off)); // copy out of the shared read buffer
  }

  /** Sends one masked text frame. */
  sendText(text) {
    this.sendFrame(0x1, Buffer.from(text));
  }

  sendFrame(opcode, payload) {
    if (this.closed) return;
    const len = payload.length;
    const hdrLen = len < 126 ? 2 : len < 65536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(hdrLen + 4 + len);
    frame[0] = 0x80 | opcode;
    if (len < 126) frame[1] = 0x80 | len;
    else if (len < 65536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(len, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
      frame.writeUInt32BE(len >>> 0, 6);
    }
    const mask = randomBytes(4);
    mask.copy(frame, hdrLen);
    for (let i = 0; i < len; i++) frame[hdrLen + 4 + i] = payload[i] ^ mask[i & 3];
    this.socket.write(frame);
  }

  close() {
    this.socket.destroy();
    this.finish();
  }

  finish(err) {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.o.onClose?.(err);
  }
}
