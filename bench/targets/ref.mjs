// Target adapters for the two reference servers (bench/ref-naive.mjs, bench/ref-framed.mjs).
//
// A target adapter tells the benchmark how to start a server and how to speak to it. Shape:
//
//   name, description
//   prepare()                      → ctx: plain JSON (secrets etc.) shared with every process
//   server(ctx)                    → { script, args?, env?, cwd? }: node entry point to run
//   readyPort(line)                → port number when a stdout line says the server is ready
//   publish(ctx)                   → { path, headers }: HTTP POST that publishes a payload
//   publishBody(payloadJson)       → request body for one payload (JSON text)
//   wsPath(ctx)                    → WebSocket request path
//   session(ctx, index)            → { start(send), onText(text, send) → true once subscribed }
//   pingMarker, pong               → optional application-level ping text and the answer to send
//
// Subscribers count deliveries by scanning for the payload's timestamp (see lib/common.mjs), so
// the adapter never parses publications itself.

import { fileURLToPath } from 'node:url';

const benchDir = fileURLToPath(new URL('..', import.meta.url));

function refTarget(name, description) {
  return {
    name,
    description,
    prepare: () => ({}),
    server: () => ({ script: `${benchDir}${name}.mjs`, env: {} }),
    readyPort(line) {
      const m = /^listening (\d+)$/.exec(line.trim());
      return m ? Number(m[1]) : undefined;
    },
    publish: () => ({ path: '/publish', headers: { 'content-type': 'application/json' } }),
    publishBody: (payloadJson) => `{"channel":"bench","data":${payloadJson}}`,
    wsPath: () => '/',
    // Every connection is subscribed to the one channel as soon as the upgrade completes.
    session: () => ({ start: () => true, onText: () => true }),
  };
}

export const refNaive = refTarget('ref-naive', 'plain ws: ws.send(message) to each socket');
export const refFramed = refTarget(
  'ref-framed',
  'plain ws: frame once, write a tick’s frames per socket together (cork/uncork)',
);
