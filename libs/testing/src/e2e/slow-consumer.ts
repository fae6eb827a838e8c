/**
 * A subscriber too slow for its messages, for the suites that check what the node does about it
 * (disconnect with 3005, metrics): the client is a bare TCP WebSocket, because a real client's
 * library keeps reading; pausing the socket is what lets the server's writes pile up in kernel
 * buffers and then in its outbound queue.
 */
import { RawWebSocket } from './raw-ws.js';
import type { ServerClose, TestApp, TestNode } from './test-node.js';

export interface StalledSubscriber {
  socket: RawWebSocket;
  /** The session's client id, as the connect reply gave it. */
  client: string;
}

/** Connects as `user`, subscribes to `channel`, then stops reading (`socket.resume()` reads again). */
export async function openStalledSubscriber(
  node: TestNode,
  app: TestApp,
  user: string,
  channel: string,
): Promise<StalledSubscriber> {
  const socket = await RawWebSocket.open(node.wsUrl(app));
  socket.sendText(JSON.stringify({ id: 1, cmd: 'connect', token: app.token(user) }));
  const connected = await socket.nextJson((f) => f['id'] === 1, 'connect reply');
  const client = (connected['result'] as { client: string }).client;
  socket.sendText(JSON.stringify({ id: 2, cmd: 'subscribe', channel }));
  await socket.nextJson((f) => f['id'] === 2, 'subscribe reply');
  socket.pause();
  return { socket, client };
}

/**
 * Publishes `{ n, chunk }` (`chunkBytes` of padding) to `channel`, one at a time, until the node
 * closes `client` or `max` are published (the bound); answers the server's close and how many
 * were published. Rejects when the node has not closed the client within `timeoutMs`.
 */
export async function publishUntilClosed(
  node: TestNode,
  app: TestApp,
  channel: string,
  client: string,
  { max, chunkBytes = 60_000, timeoutMs = 30_000 }: { max: number; chunkBytes?: number; timeoutMs?: number },
): Promise<{ close: ServerClose; published: number }> {
  const cut = node.serverCloses.wait((c) => c.client === client, { timeoutMs });
  let gaveUp = false;
  void cut.then(
    () => (gaveUp = true),
    () => undefined,
  );
  const rest = node.rest(app);
  const chunk = 'z'.repeat(chunkBytes);
  let published = 0;
  while (!gaveUp && published < max) {
    await rest.publish(channel, { n: published, chunk });
    published++;
  }
  return { close: await cut, published };
}
