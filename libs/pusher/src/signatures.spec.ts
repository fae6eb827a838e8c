import { createHash } from 'node:crypto';
import type { AppConfig } from '@herald/config';
import {
  SOCKET_ID_RE,
  channelAuthData,
  hmacHex,
  parseQuery,
  requestSignData,
  signClientAuth,
  userAuthData,
  verifyClientAuth,
  verifyRequest,
} from './signatures.js';

const app = {
  id: 'acme',
  keys: ['key1'],
  secrets: ['old-secret', 'new-secret'],
} as unknown as AppConfig;

describe('Pusher signatures', () => {
  it("matches the HMAC-SHA256 hex of Pusher's documented example", () => {
    // https://pusher.com/docs/channels/library_auth_reference/auth-signatures
    const sig = hmacHex('7ad3773142a6692b25b8', '1234.1234:private-foobar');
    expect(sig).toBe('58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4');
  });

  it('verifies channel and user auth with any live secret and the client key', () => {
    const data = channelAuthData('1.2', 'private-x');
    expect(verifyClientAuth(app, signClientAuth('key1', 'old-secret', data), data)).toBe(true);
    expect(verifyClientAuth(app, signClientAuth('key1', 'new-secret', data), data)).toBe(true);
    expect(verifyClientAuth(app, signClientAuth('key2', 'new-secret', data), data)).toBe(false);
    expect(verifyClientAuth(app, signClientAuth('key1', 'other', data), data)).toBe(false);
    expect(verifyClientAuth(app, `key1:${'A'.repeat(64)}`, data)).toBe(false);
    expect(verifyClientAuth(app, 'no-colon', data)).toBe(false);
    expect(verifyClientAuth(app, 42, data)).toBe(false);
    expect(channelAuthData('1.2', 'presence-x', '{"user_id":"u"}')).toBe('1.2:presence-x:{"user_id":"u"}');
    expect(userAuthData('1.2', '{"id":"u"}')).toBe('1.2::user::{"id":"u"}');
  });

  it('refuses a secret without the token scope', () => {
    const scoped = { ...app, secretScopes: [['publish'], ['token']] } as AppConfig;
    const data = channelAuthData('1.2', 'private-x');
    expect(verifyClientAuth(scoped, signClientAuth('key1', 'old-secret', data), data)).toBe(false);
    expect(verifyClientAuth(scoped, signClientAuth('key1', 'new-secret', data), data)).toBe(true);
  });

  it('accepts only strict socket ids', () => {
    for (const ok of ['1.2', '123456.7890']) expect(SOCKET_ID_RE.test(ok)).toBe(true);
    for (const bad of ['1.2.3', '.1', '1.', 'a.b', '1.2\n', ' 1.2', '1:2', ''])
      expect(SOCKET_ID_RE.test(bad)).toBe(false);
  });

  it('parses queries without turning + into spaces and refuses duplicates', () => {
    expect(parseQuery('a=1+2&B=%41')).toEqual(
      new Map([
        ['a', '1+2'],
        ['b', 'A'],
      ]),
    );
    expect(parseQuery('a=1&a=2')).toBeUndefined();
    expect(parseQuery('a=%zz')).toBeUndefined();
  });

  describe('HTTP API requests', () => {
    const now = 1_700_000_000;
    const sign = (method: string, path: string, query: string, secret = 'new-secret') =>
      `${query}&auth_signature=${hmacHex(secret, `${method}\n${path}\n${query}`)}`;
    const opts = { nowSeconds: now, skewSeconds: 600, scope: 'publish' as const };

    it('verifies a request signed like the pusher library', () => {
      const body = Buffer.from('{"name":"e","channels":["c"],"data":"{}"}');
      const md5 = createHash('md5').update(body).digest('hex');
      const query = `auth_key=key1&auth_timestamp=${now}&auth_version=1.0&body_md5=${md5}`;
      const check = verifyRequest(
        app,
        { method: 'POST', path: '/apps/acme/events', query: sign('POST', '/apps/acme/events', query), body },
        opts,
      );
      expect(check).toMatchObject({ ok: true });
      expect(
        requestSignData(
          'post',
          '/p',
          new Map([
            ['b', '2'],
            ['a', '1'],
            ['auth_signature', 'x'],
          ]),
        ),
      ).toBe('POST\n/p\na=1&b=2');
    });

    it.each([
      ['a wrong secret', `auth_key=key1&auth_timestamp=${now}&auth_version=1.0`, 'other', /signature/],
      ['an unknown key', `auth_key=nope&auth_timestamp=${now}&auth_version=1.0`, 'new-secret', /auth_key/],
      [
        'an old timestamp',
        `auth_key=key1&auth_timestamp=${now - 601}&auth_version=1.0`,
        'new-secret',
        /expired/i,
      ],
      [
        'a future timestamp',
        `auth_key=key1&auth_timestamp=${now + 601}&auth_version=1.0`,
        'new-secret',
        /expired/i,
      ],
      [
        'another auth_version',
        `auth_key=key1&auth_timestamp=${now}&auth_version=2.0`,
        'new-secret',
        /auth_version/,
      ],
    ])('refuses %s with 401', (_what, query, secret, message) => {
      const check = verifyRequest(
        app,
        {
          method: 'GET',
          path: '/apps/acme/channels',
          query: sign('GET', '/apps/acme/channels', query, secret),
        },
        opts,
      );
      expect(check.ok).toBe(false);
      expect(check.status).toBe(401);
      expect(check.message).toMatch(message);
    });

    it('refuses a body that does not match body_md5, and a missing signature', () => {
      const query = `auth_key=key1&auth_timestamp=${now}&auth_version=1.0&body_md5=${'0'.repeat(32)}`;
      const check = verifyRequest(
        app,
        { method: 'POST', path: '/p', query: sign('POST', '/p', query), body: Buffer.from('{}') },
        opts,
      );
      expect(check).toMatchObject({ ok: false, status: 401, message: 'Invalid body_md5' });
      expect(verifyRequest(app, { method: 'GET', path: '/p', query: `auth_key=key1` }, opts).status).toBe(
        401,
      );
    });
  });
});
