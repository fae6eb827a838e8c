import { ALL_DISCONNECTS, ALL_ERRORS } from './codes.js';

/** Renders docs/errors.md from the catalogue (errors-doc.spec.ts fails when the page drifts). */
export function renderErrorsDoc(): string {
  const out: string[] = [
    '# Errors and disconnect codes',
    '',
    '<!-- Generated from libs/protocol/src/codes.ts by renderErrorsDoc(); do not edit by hand.',
    '     Regenerate: UPDATE_DOCS=1 npm run test:unit -- libs/protocol -->',
    '',
    'Herald has one catalogue of codes, shared by the server, the REST API and the SDK.',
    '',
    '- **Error codes (100–499)** answer one command: the `error` of a protocol reply',
    '  (`{"id":3,"error":{"code":103,"message":"permission denied"}}`) or the body of a REST error',
    '  (`{"error":{"code":103,"name":"permission_denied","message":"..."}}`, with the HTTP status below).',
    '  The connection stays open. `temporary: true` means the same request may succeed later.',
    '- **Disconnect codes (3000–3999)** close a connection: the WebSocket close code, or the `code` of',
    '  the `disconnect` event on the HTTP transports. **3000–3499: reconnect** (with backoff and full',
    '  jitter, and recover channels from their last position). **3500–3999: terminal**: do not reconnect',
    '  until something changes (a new token, a fixed configuration). A client that meets a code it does',
    '  not know decides by the range.',
    '',
    '## Error codes',
    '',
    '| code | name | HTTP | temporary | meaning |',
    '|---:|---|---:|---|---|',
  ];
  for (const e of ALL_ERRORS) {
    out.push(`| ${e.code} | \`${e.name}\` | ${e.status} | ${e.temporary ? 'yes' : 'no'} | ${e.message} |`);
  }
  out.push('', '## Disconnect codes', '', '| code | name | reconnect | meaning |', '|---:|---|---|---|');
  for (const d of ALL_DISCONNECTS) {
    out.push(`| ${d.code} | \`${d.name}\` | ${d.reconnect ? 'yes' : 'no'} | ${d.reason} |`);
  }
  out.push(
    '',
    '## Transport-level close codes',
    '',
    'These come from the WebSocket layer itself (RFC 6455), before Herald reads a frame:',
    '',
    '| code | when | reconnect |',
    '|---:|---|---|',
    '| 1006 | the connection dropped without a close frame (network, process killed) | yes |',
    '| 1007 | a text frame was not valid UTF-8 | no (client bug) |',
    '| 1009 | a frame exceeded the node-wide hard cap `ws.maxPayloadBytes`; frames under the cap but over the app limit `limits.maxFrameBytes` get 3506 instead | no |',
    '',
    '## Which code for which input',
    '',
    '| input | answer |',
    '|---|---|',
    '| malformed JSON, or a frame that is not an object | disconnect 3501 |',
    '| valid JSON with a usable `id` but bad fields | error 107 |',
    '| unknown `cmd` | error 104 when the frame has a usable `id`; otherwise disconnect 3501 |',
    '| binary WebSocket frame | disconnect 3507 |',
    '| any command before `connect` | error 110 |',
    '| no `connect` within `ws.connectTimeoutSeconds` | disconnect 3010 |',
    '| expired connection token at connect | error 201, then disconnect 3003 (refresh the token, reconnect) |',
    '| malformed, unsigned, wrong-algorithm, bad-signature, wrong-app or invalid-claims token | error 200/202/203/204/205/207, then disconnect 3500 |',
    '| revoked token | error 206, then disconnect 3504 |',
    '| unknown, used or expired ticket | error 208, then disconnect 3500 |',
    '| unknown app key in the URL, or disabled app | disconnect 3503 |',
    '| browser origin not allowed | disconnect 3505 |',
    '| app or user connection limit reached | error 301, then disconnect 3008 |',
    '| node sheds new connections (`newConnectionsPerSecond`) | disconnect 3009 |',
    '| more than `limits.maxChannelsPerConnection` subscriptions | error 300 |',
    '| presence member limit of a channel reached | error 302 |',
    '| client publishes over `limits.clientPublishesPerSecond` | error 301 |',
    '| frame over `limits.maxFrameBytes` | disconnect 3506 |',
    '| outbound queue over `limits.outboundQueueBytes` (client reads too slowly) | disconnect 3005 (a client that reads nothing at all sees 1006 when the socket is destroyed 2 s later) |',
    '| no `pong` within `ws.pongTimeoutSeconds` of a ping | disconnect 3004 |',
    '| connection token expired and not refreshed | disconnect 3003 |',
    '| REST publishes over `limits.publishesPerSecond` | HTTP 429, error 301, `Retry-After` |',
    '| REST body over `limits.maxBodyBytes` | HTTP 413, error 114 |',
    '',
  );
  return out.join('\n');
}
