// Reference server 2, the framed broadcast: the practical limit of a Node broadcast server.
//
// Each publication is framed once (an unmasked server text frame: 0x81, the 7/16/64-bit length,
// the payload) and the same Buffer is queued on every socket's pending list. Once per tick
// (setImmediate, after the poll phase has read every pending publish) each socket's queue is
// written with cork()/write()…/uncork() on the raw TCP socket, so a tick's frames leave in one
// writev system call per socket. Nothing is serialized, copied or framed per subscriber, and
// the per-socket system calls are shared by every message of the tick.
//
// Writing to ws._socket bypasses the ws Sender. That is safe here because this server sends
// nothing else (no pings, no compression), and it is exactly what the Herald design asks its
// hot path to do (docs: "Hot path"), so it is the fair upper bound to compare Herald with.

import { startRefServer } from './lib/ref-server.mjs';

/** Unmasked FIN text frame around `payload`: header and payload in one Buffer. */
function frameText(payload) {
  const len = payload.length;
  const hdr = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(hdr + len);
  frame[0] = 0x81;
  if (len < 126) frame[1] = len;
  else if (len < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    frame.writeUInt32BE(len >>> 0, 6);
  }
  payload.copy(frame, hdr);
  return frame;
}

startRefServer((wss) => {
  /** Sockets with queued frames, and each socket's queue (kept on the ws object). */
  let dirty = [];
  let scheduled = false;

  function flush() {
    scheduled = false;
    const list = dirty;
    dirty = [];
    for (const ws of list) {
      const socket = ws._socket;
      const pending = ws.pending;
      ws.pending = [];
      if (!socket || socket.destroyed || ws.readyState !== ws.OPEN) continue;
      socket.cork();
      for (const frame of pending) socket.write(frame);
      socket.uncork();
    }
  }

  return (text) => {
    const frame = frameText(Buffer.from(text));
    for (const ws of wss.clients) {
      if (ws.pending === undefined || ws.pending.length === 0) {
        ws.pending = [frame];
        dirty.push(ws);
      } else ws.pending.push(frame);
    }
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
});
