// The part the two reference servers share: one HTTP server on 127.0.0.1, port 0, carrying
//   POST /publish  body {"channel":"bench","data":<payload>} (the shape of Herald's REST publish)
//   GET  /stats    {"connections","rss","heapUsed"}
//   POST /gc       runs global.gc() (needs --expose-gc)
// and a `ws` WebSocketServer (permessage-deflate off) on the same port. Every WebSocket
// connection is a subscriber of the one channel. Prints "listening <port>" when ready.

import http from 'node:http';
import { WebSocketServer } from 'ws';

/** @param {(wss: WebSocketServer) => (text: string) => void} makeBroadcast */
export function startRefServer(makeBroadcast) {
  const server = http.createServer(onRequest);
  const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 64 * 1024 });
  const broadcast = makeBroadcast(wss);

  function onRequest(req, res) {
    if (req.method === 'POST' && req.url === '/publish') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        let body;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString());
        } catch {
          return reply(res, 400, { error: 'bad json' });
        }
        if (body?.channel !== 'bench') return reply(res, 404, { error: 'unknown channel' });
        // Serialize once per publication, as any broker must (the body was parsed to validate it).
        broadcast(JSON.stringify(body.data));
        reply(res, 200, {});
      });
    } else if (req.method === 'GET' && req.url === '/stats') {
      const m = process.memoryUsage();
      reply(res, 200, { connections: wss.clients.size, rss: m.rss, heapUsed: m.heapUsed });
    } else if (req.method === 'POST' && req.url === '/gc') {
      if (typeof global.gc === 'function') global.gc();
      reply(res, 200, { gc: typeof global.gc === 'function' });
    } else reply(res, 404, { error: 'not found' });
  }

  server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
  process.on('SIGTERM', () => process.exit(0));
}

function reply(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
