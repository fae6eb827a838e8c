import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { DEFAULT_WAIT_MS, withTimeout } from './test-client.js';

/**
 * A WebSocket client written on a bare TCP socket, for what `ws` will not let a test do: stop
 * reading (a slow consumer whose kernel buffers fill up), or put arbitrary bytes on the wire. It
 * speaks just enough RFC 6455: the upgrade, masked text frames out, unmasked frames in.
 */
export class RawWebSocket {
  private buffer = Buffer.alloc(0);
  private headerDone = false;
  /** Text frames received, in order. */
  readonly texts: string[] = [];
  /** Close code from a close frame, if the server sent one. */
  closeCode: number | undefined;
  /** Status line of a refused upgrade. */
  refusal: string | undefined;
  /** Resolves when the TCP connection is gone (FIN, RST or destroy). */
  readonly ended: Promise<void>;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    this.ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
      for (const w of [...this.waiters]) w();
    });
  }

  static async open(wsUrl: string): Promise<RawWebSocket> {
    const url = new URL(wsUrl);
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const raw = new RawWebSocket(socket);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('error', reject);
      }),
      DEFAULT_WAIT_MS,
      'TCP connect did not complete',
    );
    socket.write(
      [
        `GET ${url.pathname}${url.search} HTTP/1.1`,
        `Host: ${url.host}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        '',
        '',
      ].join('\r\n'),
    );
    await raw.until(() => raw.headerDone, 'no 101 Switching Protocols');
    return raw;
  }

  /** Sends one masked text frame (client frames must be masked). */
  sendText(text: string | Buffer): void {
    const payload = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
    const len = payload.length;
    const header = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
    header[0] = 0x81;
    if (len < 126) header[1] = 0x80 | len;
    else if (len < 65536) {
      header[1] = 0x80 | 126;
      header.writeUInt16BE(len, 2);
    } else {
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(len), 2);
    }
    const mask = randomBytes(4);
    const masked = Buffer.alloc(len);
    for (let i = 0; i < len; i++) masked[i] = payload[i] ^ mask[i & 3];
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  /** Waits until a received text frame satisfies `match` and returns it parsed. */
  async nextJson(
    match: (frame: Record<string, unknown>) => boolean,
    what = 'matching frame',
  ): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    await this.until(() => {
      for (const t of this.texts) {
        for (const line of t.split('\n')) {
          if (line.trim() === '') continue;
          const frame = JSON.parse(line) as Record<string, unknown>;
          if (match(frame)) {
            found = frame;
            return true;
          }
        }
      }
      return false;
    }, what);
    return found as Record<string, unknown>;
  }

  /** Stops reading from the kernel: the server's writes pile up in TCP buffers, then in its queue. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private until(done: () => boolean, what: string): Promise<void> {
    if (done()) return Promise.resolve();
    let check: () => void = () => undefined;
    const p = new Promise<void>((resolve, reject) => {
      check = () => {
        if (done()) {
          this.waiters.delete(check);
          resolve();
        }
      };
      this.waiters.add(check);
      this.socket.once('close', () => {
        if (!done()) reject(new Error(`${what}: connection closed`));
      });
    });
    return withTimeout(p, DEFAULT_WAIT_MS, what).finally(() => this.waiters.delete(check));
  }

  private parse(): void {
    if (!this.headerDone) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buffer.subarray(0, end).toString('latin1');
      if (!head.startsWith('HTTP/1.1 101')) {
        this.refusal = head.split('\r\n')[0];
        this.socket.destroy();
        return;
      }
      this.buffer = this.buffer.subarray(end + 4);
      this.headerDone = true;
    }
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = this.buffer[0] & 0x0f;
      let len = this.buffer[1] & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (this.buffer.length < 4) return;
        len = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (this.buffer.length < 10) return;
        len = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + len) return;
      const payload = this.buffer.subarray(offset, offset + len);
      this.buffer = this.buffer.subarray(offset + len);
      if (opcode === 0x1) this.texts.push(payload.toString('utf8'));
      else if (opcode === 0x8 && payload.length >= 2) this.closeCode = payload.readUInt16BE(0);
    }
  }
}
