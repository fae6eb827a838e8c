// Reference server 1, the naive broadcast: for each publication, ws.send(message) to every
// socket. `ws` turns the string into bytes, builds a frame and issues a socket write per socket
// per message: the cost most hand-written Node broadcast loops pay.

import { startRefServer } from './lib/ref-server.mjs';

startRefServer((wss) => (text) => {
  for (const ws of wss.clients) ws.send(text);
});
