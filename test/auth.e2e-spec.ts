import { DisconnectCode, ErrorCode, type DisconnectDef, type ErrorDef } from '@herald/protocol';
import {
  ReplyError,
  ecKeyPair,
  hmacToken,
  nowSec,
  rsaKeyPair,
  signAsymmetric,
  signHs256,
  startTestNode,
  uniqueId,
  unsignedToken,
  type KeyPair,
  type TestNode,
} from '@herald/testing';

// Authentication and authorization at the edge: every bad credential is refused with its own
// error code and the disconnect code docs/errors.md ("Which code for which input") promises.

const ALLOWED_ORIGIN = 'https://app.example.com';
let node: TestNode;
let rsa: KeyPair;
let ec: KeyPair;

beforeAll(async () => {
  rsa = rsaKeyPair();
  ec = ecKeyPair();
  node = await startTestNode({
    apps: {
      alpha: {
        publicKeys: [{ pem: rsa.publicKeyPem }, { kid: 'ec-1', pem: ec.publicKeyPem }],
        allowedOrigins: [ALLOWED_ORIGIN],
      },
    },
  });
});

afterAll(async () => {
  await node?.close();
});

/** Connect must fail with `error`, then the server closes with `close`. */
async function expectRefused(
  connect: { token?: string; ticket?: string },
  error: ErrorDef,
  close: DisconnectDef,
) {
  const client = await node.open(node.apps.alpha);
  const reply = await client.request({ cmd: 'connect', ...connect }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(reply).toBeInstanceOf(ReplyError);
  expect((reply as ReplyError).code).toBe(error.code);
  expect((await client.waitClosed()).code).toBe(close.code);
}

/** The node still serves a normal client after a refusal. */
async function expectServing() {
  const client = await node.connect(node.apps.alpha, uniqueId('ok'));
  const channel = uniqueId('ok');
  await client.request({ cmd: 'subscribe', channel });
  await node.rest(node.apps.alpha).publish(channel, 'fine');
  expect((await client.nextPubs(channel, 1))[0].data).toBe('fine');
  await client.close();
}

describe('connection tokens', () => {
  const alphaSecret = () => node.apps.alpha.secret;

  it.each([
    [
      'expired',
      () => signHs256(alphaSecret(), { sub: 'u', aud: 'alpha', exp: nowSec() - 10 }),
      ErrorCode.TOKEN_EXPIRED,
      DisconnectCode.TOKEN_EXPIRED,
    ],
    ['malformed', () => 'not-a.jwt', ErrorCode.TOKEN_MALFORMED, DisconnectCode.INVALID_TOKEN],
    ['garbage in three parts', () => 'a.b.c', ErrorCode.TOKEN_MALFORMED, DisconnectCode.INVALID_TOKEN],
    [
      'alg none',
      () => unsignedToken({ sub: 'u', aud: 'alpha' }),
      ErrorCode.TOKEN_UNSIGNED,
      DisconnectCode.INVALID_TOKEN,
    ],
    [
      'HS256 signed with the registered RSA public key (algorithm confusion)',
      () => hmacToken(rsa.publicKeyPem, { sub: 'u', aud: 'alpha' }),
      ErrorCode.TOKEN_ALGORITHM,
      DisconnectCode.INVALID_TOKEN,
    ],
    [
      'wrong aud',
      () => signHs256(alphaSecret(), { sub: 'u', aud: 'beta' }),
      ErrorCode.TOKEN_WRONG_APP,
      DisconnectCode.INVALID_TOKEN,
    ],
    [
      'bad signature',
      () => signHs256('x'.repeat(40), { sub: 'u', aud: 'alpha' }),
      ErrorCode.TOKEN_SIGNATURE,
      DisconnectCode.INVALID_TOKEN,
    ],
    [
      'missing exp',
      () => signHs256(alphaSecret(), { sub: 'u', aud: 'alpha', exp: undefined }),
      ErrorCode.TOKEN_CLAIMS,
      DisconnectCode.INVALID_TOKEN,
    ],
    [
      'missing sub',
      () => signHs256(alphaSecret(), { aud: 'alpha' }),
      ErrorCode.TOKEN_CLAIMS,
      DisconnectCode.INVALID_TOKEN,
    ],
    [
      'RS256 signed by a key the app does not know',
      () => signAsymmetric(rsaKeyPair().privateKeyPem, 'RS256', { sub: 'u', aud: 'alpha' }),
      ErrorCode.TOKEN_SIGNATURE,
      DisconnectCode.INVALID_TOKEN,
    ],
  ])('refuses a %s token', async (_name, make, error, close) => {
    await expectRefused({ token: make() }, error, close);
    await expectServing();
  });

  it('refuses a revoked token at connect (206, 3504) and cuts a live connection using it', async () => {
    const { alpha } = node.apps;
    const jti = uniqueId('jti');
    const exp = nowSec() + 600;
    const token = alpha.token('revoked-user', { jti, exp });
    const live = await node.open(alpha);
    await live.request({ cmd: 'connect', token });

    await node.rest(alpha).ok('POST', '/tokens/revoke', { body: { jti, expires_at: exp } });
    expect((await live.waitClosed()).code).toBe(DisconnectCode.TOKEN_REVOKED.code);
    await expectRefused({ token }, ErrorCode.TOKEN_REVOKED, DisconnectCode.TOKEN_REVOKED);
    // Another token of the same user is unaffected.
    await expect(node.connect(alpha, 'revoked-user')).resolves.toBeDefined();
  });

  it('revokes every earlier token of a user', async () => {
    const { alpha } = node.apps;
    const old = alpha.token('revoke-all', { iat: nowSec() - 60 });
    const live = await node.open(alpha);
    await live.request({ cmd: 'connect', token: old });
    await node
      .rest(alpha)
      .ok('POST', '/users/revoke-all/revoke_tokens', { body: { issued_before: nowSec() - 30 } });
    expect((await live.waitClosed()).code).toBe(DisconnectCode.TOKEN_REVOKED.code);
    await expectRefused({ token: old }, ErrorCode.TOKEN_REVOKED, DisconnectCode.TOKEN_REVOKED);
  });

  it('accepts RS256 and ES256 tokens signed with the registered keys', async () => {
    const { alpha } = node.apps;
    const viaRsa = await node.open(alpha);
    const r = await viaRsa.request({
      cmd: 'connect',
      token: signAsymmetric(rsa.privateKeyPem, 'RS256', { sub: 'rsa-user', aud: 'alpha' }),
    });
    expect(r.user).toBe('rsa-user');
    const viaEc = await node.open(alpha);
    const e = await viaEc.request({
      cmd: 'connect',
      token: signAsymmetric(ec.privateKeyPem, 'ES256', { sub: 'ec-user', aud: 'alpha' }, 'ec-1'),
    });
    expect(e.user).toBe('ec-user');
  });

  it('refuses a second connect on an authenticated connection', async () => {
    const { alpha } = node.apps;
    const client = await node.connect(alpha, 'twice');
    await expect(client.request({ cmd: 'connect', token: alpha.token('twice') })).rejects.toMatchObject({
      code: ErrorCode.ALREADY_CONNECTED.code,
    });
    await expect(client.request({ cmd: 'subscribe', channel: uniqueId('after') })).resolves.toBeDefined();
  });
});

describe('tickets', () => {
  it('connects once with a minted ticket and refuses the second use', async () => {
    const { alpha } = node.apps;
    const channel = uniqueId('ticket-ch');
    const minted = await node.rest(alpha).ok<{ ticket: string; expires_at: number }>('POST', '/tickets', {
      body: { user: 'ticket-user', channels: [channel] },
    });
    expect(minted.expires_at).toBeGreaterThan(nowSec());

    const client = await node.open(alpha);
    const connected = await client.request({ cmd: 'connect', ticket: minted.ticket });
    expect(connected.user).toBe('ticket-user');
    expect(Object.keys(connected.subs)).toContain(channel);

    await expectRefused({ ticket: minted.ticket }, ErrorCode.TICKET_INVALID, DisconnectCode.INVALID_TOKEN);
    await expectRefused({ ticket: 'A'.repeat(43) }, ErrorCode.TICKET_INVALID, DisconnectCode.INVALID_TOKEN);
  });

  it("does not accept another app's ticket", async () => {
    const { alpha, beta } = node.apps;
    const minted = await node.rest(beta).ok<{ ticket: string }>('POST', '/tickets', { body: { user: 'x' } });
    await expectRefused({ ticket: minted.ticket }, ErrorCode.TICKET_INVALID, DisconnectCode.INVALID_TOKEN);
    // Still unused in beta.
    const client = await node.open(beta);
    await expect(client.request({ cmd: 'connect', ticket: minted.ticket })).resolves.toMatchObject({
      user: 'x',
    });
    void alpha;
  });
});

describe('edge checks', () => {
  it('closes an origin that is not allowed with 3505 and lets an allowed one in', async () => {
    const { alpha } = node.apps;
    const evil = await node.open(alpha, { origin: 'https://evil.example.com' });
    expect((await evil.waitClosed()).code).toBe(DisconnectCode.ORIGIN_NOT_ALLOWED.code);
    const good = await node.open(alpha, { origin: ALLOWED_ORIGIN });
    await expect(good.request({ cmd: 'connect', token: alpha.token('origin-ok') })).resolves.toBeDefined();
  });

  it('closes an unknown app key with 3503', async () => {
    const unknown = await node.open('no_such_key_123');
    expect((await unknown.waitClosed()).code).toBe(DisconnectCode.UNKNOWN_APP.code);
    await expectServing();
  });
});

describe('channel authorization', () => {
  it('requires a subscription token for a private channel', async () => {
    const { alpha } = node.apps;
    const channel = `priv:${uniqueId('secret')}`;
    const client = await node.connect(alpha, 'priv-user');
    await expect(client.request({ cmd: 'subscribe', channel })).rejects.toMatchObject({
      code: ErrorCode.SUBSCRIPTION_TOKEN_REQUIRED.code,
    });
    await expect(
      client.request({
        cmd: 'subscribe',
        channel,
        token: alpha.subToken('priv-user', `priv:${uniqueId('other')}`),
      }),
    ).rejects.toMatchObject({ code: ErrorCode.TOKEN_CLAIMS.code });
    await expect(
      client.request({ cmd: 'subscribe', channel, token: alpha.subToken('someone-else', channel) }),
    ).rejects.toMatchObject({ code: ErrorCode.TOKEN_CLAIMS.code });
    await expect(
      client.request({ cmd: 'subscribe', channel, token: alpha.subToken('priv-user', channel) }),
    ).resolves.toMatchObject({ recoverable: true });
    await node.rest(alpha).publish(channel, 'private');
    expect((await client.nextPubs(channel, 1))[0].data).toBe('private');
    expect(client.isClosed).toBe(false);
  });

  it('lets only the listed users into a user-limited channel', async () => {
    const { alpha } = node.apps;
    const channel = `dialog-${uniqueId('d')}#lim-1,lim-2`;
    const outsider = await node.connect(alpha, 'lim-3');
    await expect(outsider.request({ cmd: 'subscribe', channel })).rejects.toMatchObject({
      code: ErrorCode.PERMISSION_DENIED.code,
    });
    await expect(outsider.request({ cmd: 'subscribe', channel: '#lim-1' })).rejects.toMatchObject({
      code: ErrorCode.PERMISSION_DENIED.code,
    });
    const member = await node.connect(alpha, 'lim-2');
    await expect(member.request({ cmd: 'subscribe', channel })).resolves.toMatchObject({ recoverable: true });
  });
});

describe('token lifetime', () => {
  it('reports the token expiry at connect', async () => {
    const { alpha } = node.apps;
    const exp = nowSec() + 3600;
    const client = await node.open(alpha);
    const result = await client.request({ cmd: 'connect', token: alpha.token('exp-report', { exp }) });
    expect(result.expires).toBe(exp);
  });

  it('disconnects with 3003 when the token expires without refresh, and keeps a refreshed connection', async () => {
    const { alpha } = node.apps;
    const exp = nowSec() + 2;
    const stale = await node.open(alpha);
    await stale.request({ cmd: 'connect', token: alpha.token('exp-user', { exp }) });
    const fresh = await node.open(alpha);
    await fresh.request({ cmd: 'connect', token: alpha.token('exp-user', { exp }) });

    const later = nowSec() + 3600;
    const refreshed = await fresh.request({ cmd: 'refresh', token: alpha.token('exp-user', { exp: later }) });
    expect(refreshed).toMatchObject({ client: fresh.connection?.client, expires: later });
    await expect(fresh.request({ cmd: 'refresh', token: alpha.token('someone-else') })).rejects.toMatchObject(
      {
        code: ErrorCode.TOKEN_USER_MISMATCH.code,
      },
    );

    // The stale connection is closed by the expiry check; the refreshed one, which had the same
    // expiry, was checked in the same pass and must still be served.
    expect((await stale.waitClosed({ timeoutMs: 6000 })).code).toBe(DisconnectCode.TOKEN_EXPIRED.code);
    await expect(fresh.request({ cmd: 'subscribe', channel: uniqueId('still') })).resolves.toBeDefined();
    expect(fresh.isClosed).toBe(false);
  }, 10_000);
});
