/**
 * What travels on the bus. A record's value is one JSON header line, then "\n", then (for
 * channel records) the ready-to-send JSON frame, so a gateway parses only the small header and
 * forwards the frame bytes without re-serializing them.
 */
export type ChannelHeader =
  /**
   * `x`: a session id that must not receive the publication (Pusher `socket_id` exclusion);
   * `t`: when the publish was accepted (ms since epoch), for herald_fanout_latency_seconds.
   */
  | { k: 'pub'; a: string; c: string; o?: number; e?: string; x?: string; t?: number }
  | { k: 'join' | 'leave'; a: string; c: string };

export type ControlMessage =
  | { k: 'disconnect'; a: string; u: string; code: number }
  | { k: 'unsubscribe'; a: string; u: string; c: string }
  | { k: 'revoke'; a: string; jti?: string; u?: string; before?: number }
  /** The app changed in the control store: drop it from caches; `off` (disabled or deleted): close its sessions. */
  | { k: 'app_changed'; a: string; off?: boolean };

export function encodeChannelRecord(header: ChannelHeader, frameJson: string): Buffer {
  return Buffer.from(`${JSON.stringify(header)}\n${frameJson}`, 'utf8');
}

export function decodeChannelRecord(value: Buffer): { header: ChannelHeader; frameJson: string } {
  const text = value.toString('utf8');
  const nl = text.indexOf('\n');
  return { header: JSON.parse(text.slice(0, nl)) as ChannelHeader, frameJson: text.slice(nl + 1) };
}

export function encodeControl(msg: ControlMessage): Buffer {
  return Buffer.from(JSON.stringify(msg), 'utf8');
}

export function decodeControl(value: Buffer): ControlMessage {
  return JSON.parse(value.toString('utf8')) as ControlMessage;
}

/** Bus keys start with the app id so tenants never share a key (DESIGN.md topic table). */
export function channelKey(appId: string, channel: string): string {
  return channel.startsWith('#') ? `${appId}:user:${channel.slice(1)}` : `${appId}:chan:${channel}`;
}
