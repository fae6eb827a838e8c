/** Where a publication frame sits in its channel's stream (see OutFrame.pos). */
export interface FramePosition {
  channel: string;
  offset: number;
  epoch: string;
}

/**
 * A server frame encoded once per wire format and shared by every subscriber (DESIGN.md "Hot
 * path"): the JSON text is built once by the publisher; each transport asks for its own encoding
 * (e.g. the WebSocket frame bytes), which is computed on first use and reused for every other
 * connection of that transport.
 */
export class OutFrame {
  private utf8?: Buffer;
  private ws?: Buffer;
  /** Encodings in other wire formats (see `as`), created on first use. */
  private formats?: Map<FrameFormat<unknown>, unknown>;
  /** A connection (session id) that must not receive this frame: the publisher's own. */
  exclude?: string;

  /**
   * `pos` marks a publication of a channel with history: the stream position it advances its
   * subscribers to. Transports that hand clients a resume token (SSE ids, poll cursors) read it
   * instead of parsing the JSON; the WebSocket transport ignores it.
   */
  constructor(
    readonly json: string,
    readonly pos?: FramePosition,
  ) {}

  /**
   * This frame in another wire format (e.g. the Pusher protocol, libs/pusher), encoded once and
   * shared by every connection that speaks it, like `wsFrame` for the native format.
   */
  as<T>(format: FrameFormat<T>): T {
    const map = (this.formats ??= new Map());
    if (map.has(format)) return map.get(format) as T;
    const encoded = format.encode(this);
    map.set(format, encoded);
    return encoded;
  }

  bytes(): Buffer {
    return (this.utf8 ??= Buffer.from(this.json, 'utf8'));
  }

  /** An unmasked, final WebSocket text frame (RFC 6455 §5.2) carrying the JSON. */
  wsFrame(): Buffer {
    if (this.ws) return this.ws;
    const payload = this.bytes();
    const len = payload.length;
    const headerLen = len < 126 ? 2 : len < 65536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(headerLen + len);
    frame[0] = 0x81; // FIN + opcode 1 (text)
    if (len < 126) {
      frame[1] = len;
    } else if (len < 65536) {
      frame[1] = 126;
      frame.writeUInt16BE(len, 2);
    } else {
      frame[1] = 127;
      frame.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
      frame.writeUInt32BE(len >>> 0, 6);
    }
    payload.copy(frame, headerLen);
    this.ws = frame;
    return frame;
  }
}

/** A wire format other than the native one: turns a native frame into its own encoding. */
export interface FrameFormat<T> {
  encode(frame: OutFrame): T;
}

/** `{"push":"pub","channel":...,"pub":<publication json>}` without re-serializing the publication. */
export function pubFrameJson(channel: string, publicationJson: string): string {
  return `{"push":"pub","channel":${JSON.stringify(channel)},"pub":${publicationJson}}`;
}

/** Stored history values omit the offset (it is assigned by the append); this puts it back. */
export function withOffset(offset: number, valueJson: string): string {
  return valueJson.length > 2 ? `{"offset":${offset},${valueJson.slice(1)}` : `{"offset":${offset}}`;
}
