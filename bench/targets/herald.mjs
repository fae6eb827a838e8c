// Target adapter for Herald (the standalone app built by `npm run build`). Adapter shape: see
// targets/ref.mjs. Everything Herald-specific the benchmark assumes is in this file:
//
// - Started as `node dist/apps/standalone/src/main.js` from the repository root, configured by
//   HERALD_* environment variables (one app `bench` with key `bench-key` and a random secret).
// - Ready when stdout prints a JSON log line with "msg":"listening" and "port":<n>.
// - WebSocket at /connection/websocket?key=<app key>; JSON frames, several per message joined by
//   "\n". connect (HS256 JWT, sub/aud/exp) → reply with the same id; subscribe → reply.
// - Publications arrive as {"push":"pub","channel":"bench","pub":{"data":<payload>,…}}.
// - Application ping {"push":"ping"} is answered with {"cmd":"pong"}.
// - REST publish: POST /v1/apps/<app>/publish, Authorization: Bearer <secret>,
//   body {"channel":"bench","data":<payload>}.

import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import jwt from 'jsonwebtoken';

const root = fileURLToPath(new URL('../..', import.meta.url));
const APP_ID = 'bench';
const APP_KEY = 'bench-key';

export const herald = {
  name: 'herald',
  description: 'Herald standalone (dist/apps/standalone)',

  prepare: () => ({ secret: randomBytes(36).toString('base64url') }), // 48 characters

  server: (ctx) => ({
    script: `${root}dist/apps/standalone/src/main.js`,
    cwd: root,
    env: {
      HERALD_HOST: '127.0.0.1',
      HERALD_PORT: '0',
      HERALD_LOG_LEVEL: 'warn',
      HERALD_ENV: 'development',
      HERALD_APP_ID: APP_ID,
      HERALD_APP_KEY: APP_KEY,
      HERALD_APP_SECRET: ctx.secret,
      // The default shed rate (1000/s) would refuse most of a 10k-connection ramp.
      HERALD_NEW_CONNECTIONS_PER_SECOND: '100000',
      // Shutdown spreads session closes over the drain window; the benchmark needs no grace.
      HERALD_DRAIN_SECONDS: '1',
    },
  }),

  readyPort(line) {
    if (!line.startsWith('{')) return undefined;
    try {
      const rec = JSON.parse(line);
      return rec.msg === 'listening' && Number.isInteger(rec.port) ? rec.port : undefined;
    } catch {
      return undefined;
    }
  },

  publish: (ctx) => ({
    path: `/v1/apps/${APP_ID}/publish`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx.secret}` },
  }),
  publishBody: (payloadJson) => `{"channel":"bench","data":${payloadJson}}`,

  wsPath: () => `/connection/websocket?key=${APP_KEY}`,

  /** connect, wait for its reply, subscribe, wait for its reply. Throws on an error reply. */
  session(ctx, index) {
    let step = 0;
    return {
      start(send) {
        const token = jwt.sign(
          { sub: `u${index}`, aud: APP_ID, exp: Math.floor(Date.now() / 1000) + 3600 },
          ctx.secret,
          { algorithm: 'HS256' },
        );
        send(JSON.stringify({ id: 1, cmd: 'connect', token }));
        return false;
      },
      onText(text, send) {
        for (const line of text.split('\n')) {
          if (!line) continue;
          const frame = JSON.parse(line);
          if (frame.id !== step + 1) continue; // pushes (e.g. ping) before we are subscribed
          if (frame.error) throw new Error(`${frame.id === 1 ? 'connect' : 'subscribe'}: ${line}`);
          step++;
          if (step === 1) send(JSON.stringify({ id: 2, cmd: 'subscribe', channel: 'bench' }));
          else return true;
        }
        return false;
      },
    };
  },

  pingMarker: '"push":"ping"',
  pong: '{"cmd":"pong"}',
};
