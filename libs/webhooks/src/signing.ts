import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the signed content is
 * `${id}.${timestamp}.${body}`, the key is the base64-decoded part of a `whsec_` secret (any other
 * secret is used as its UTF-8 bytes), and `webhook-signature` lists `v1,<base64 HMAC-SHA256>`
 * once per live secret, space-separated, so a receiver can rotate its secret without a gap.
 */
export function secretKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

export function standardSignature(secret: string, id: string, timestampSec: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret))
    .update(`${id}.${timestampSec}.${body}`)
    .digest('base64');
  return `v1,${mac}`;
}

export function standardHeaders(
  secrets: readonly string[],
  id: string,
  timestampSec: number,
  body: string,
): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': secrets.map((s) => standardSignature(s, id, timestampSec, body)).join(' '),
  };
}

/** Pusher-compatible mode: hex HMAC-SHA256 of the body with the app secret, and the app key. */
export function pusherHeaders(appKey: string, appSecret: string, body: string): Record<string, string> {
  return {
    'X-Pusher-Key': appKey,
    'X-Pusher-Signature': createHmac('sha256', appSecret).update(body).digest('hex'),
  };
}
