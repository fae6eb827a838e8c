import { get as httpsGet } from 'node:https';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { WebSocket } from 'ws';
import type { ConnectPush, ServerFrame } from '@herald/protocol';
import {
  FrameInbox,
  SseParser,
  createTestCert,
  isPub,
  startTestNode,
  uniqueId,
  withTimeout,
  type PubFrame,
  type TestCert,
  type TestNode,
} from '@herald/testing';

// HTTP/2 (docs/protocol.md "Transports"): with TLS configured the node speaks HTTP/2 and, on the
// same port, HTTP/1.1, so a browser can hold many SSE streams on one connection while WebSocket
// keeps working over HTTP/1.1. The certificate is self-signed for 127.0.0.1, made for this run
// (createTestCert) and trusted explicitly as the CA.

let node: TestNode;
let cert: TestCert | undefined;
let ca: string;
let h2: ClientHttp2Session;

beforeAll(async () => {
  cert = createTestCert();
  ca = cert.cert;
  const { certFile, keyFile } = cert;
  node = await startTestNode({ tls: { certFile, keyFile } });
  h2 = http2Connect(node.url, { ca });
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      h2.once('connect', () => resolve());
      h2.once('error', reject);
    }),
    5000,
    'HTTP/2 connect',
  );
});

afterAll(async () => {
  h2?.close();
  await node?.close();
  cert?.dispose();
});

/** One SSE stream on the shared HTTP/2 connection. */
function sseOverH2(path: string) {
  const frames = new FrameInbox<ServerFrame>();
  const stream = h2.request({ ':path': path, accept: 'text/event-stream' });
  const status = new Promise<number>((resolve) =>
    stream.once('response', (h) => resolve(Number(h[':status']))),
  );
  const parser = new SseParser((e) => frames.push(JSON.parse(e.data) as ServerFrame));
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => parser.push(chunk));
  stream.on('error', () => undefined);
  return { stream, status, frames };
}

describe('HTTP/2', () => {
  it('serves 20 SSE streams on one connection, each receiving publications', async () => {
    const { alpha } = node.apps;
    const channel = uniqueId('h2');
    const streams = Array.from({ length: 20 }, (_, i) =>
      sseOverH2(
        `/connection/sse?key=${alpha.key}&channels=${channel}&token=${encodeURIComponent(alpha.token(`h2-${i}`))}`,
      ),
    );
    try {
      expect(await Promise.all(streams.map((s) => s.status))).toEqual(streams.map(() => 200));
      const connects = await Promise.all(
        streams.map((s) => s.frames.next((f) => 'push' in f && f.push === 'connect') as Promise<ConnectPush>),
      );
      expect(new Set(connects.map((c) => c.client)).size).toBe(20);

      // A publish over the same HTTP/2 connection: express routes and parses it as over HTTP/1.1.
      const body = JSON.stringify({ channel, data: 'to-all' });
      const publish = h2.request({
        ':method': 'POST',
        ':path': `/v1/apps/${alpha.id}/publish`,
        authorization: `Bearer ${alpha.secret}`,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
      });
      publish.end(body);
      const publishStatus = await new Promise<number>((resolve) =>
        publish.once('response', (h) => resolve(Number(h[':status']))),
      );
      publish.resume();
      expect(publishStatus).toBe(200);

      const got = await Promise.all(streams.map((s) => s.frames.next(isPub(channel))));
      expect(got.map((f) => (f as PubFrame).pub)).toEqual(streams.map(() => ({ offset: 1, data: 'to-all' })));
    } finally {
      for (const s of streams) s.stream.close();
    }
  });

  it('falls back to HTTP/1.1 on the same port, and WebSocket works over it', async () => {
    const status = await new Promise<{ code: number; version: string }>((resolve, reject) => {
      httpsGet(`${node.url}/healthz`, { ca }, (res) => {
        res.resume();
        resolve({ code: res.statusCode ?? 0, version: res.httpVersion });
      }).once('error', reject);
    });
    expect(status).toEqual({ code: 200, version: '1.1' });

    const { alpha } = node.apps;
    const ws = new WebSocket(node.wsUrl(alpha), { ca });
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', reject);
        }),
        5000,
        'wss open',
      );
      const reply = new Promise<string>((resolve) =>
        ws.once('message', (d: Buffer) => resolve(d.toString('utf8'))),
      );
      ws.send(JSON.stringify({ id: 1, cmd: 'connect', token: alpha.token('h2-ws') }));
      expect(JSON.parse(await withTimeout(reply, 5000, 'connect reply'))).toMatchObject({
        id: 1,
        result: { user: 'h2-ws' },
      });
    } finally {
      ws.close();
    }
  });
});
