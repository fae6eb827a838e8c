import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { appConfigSchema, type AppConfig } from '@herald/config';
import { ErrorCode, HeraldError, type ErrorDef } from '@herald/protocol';
import { MemoryRevocationStore } from '@herald/state';
import { signConnectionToken, signSubscriptionToken } from './dev-token.js';
import { MAX_TOKEN_LENGTH, TokenVerifier } from './token-verifier.js';

const NOW = 1_700_000_000; // seconds
const SECRET_A = 'Zq8vN3kP7wR2tY6uB1mC4xL9hJ5gF0dS';
const SECRET_B = 'aQ1sW2dE3rF4tG5yH6uJ7iK8oL9pZ0xC';
const OTHER_SECRET = 'mN4bV5cX6zL7kJ8hG9fD0sA1pO2iU3yT';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa2 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();

const app: AppConfig = appConfigSchema.parse({
  id: 'acme',
  keys: ['acme-key-1'],
  secrets: [SECRET_A, SECRET_B],
  publicKeys: [
    { kid: 'rsa-1', pem: pem(rsa.publicKey) },
    { kid: 'ec-1', pem: pem(ec.publicKey) },
  ],
});
const other: AppConfig = appConfigSchema.parse({
  id: 'other',
  keys: ['other-key-1'],
  secrets: [OTHER_SECRET],
});
const hsOnly: AppConfig = appConfigSchema.parse({ id: 'hs', keys: ['hs-key-1'], secrets: [SECRET_A] });
const rsaNoKid: AppConfig = appConfigSchema.parse({
  id: 'nokid',
  keys: ['nokid-key-1'],
  secrets: [SECRET_A],
  publicKeys: [{ pem: pem(rsa2.publicKey) }, { pem: pem(rsa.publicKey) }],
});

let clockMs = NOW * 1000;
const revocations = new MemoryRevocationStore({ now: () => clockMs });
const verifier = new TokenVerifier(revocations, { now: () => clockMs });
afterAll(() => revocations.close());
beforeEach(() => {
  clockMs = NOW * 1000;
});

const base = (over: Record<string, unknown> = {}) => ({
  sub: 'u1',
  aud: 'acme',
  iat: NOW - 10,
  exp: NOW + 60,
  ...over,
});
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
/** Signs by hand: jsonwebtoken's sign refuses the malformed claims these tests need. */
const hs = (payload: object, secret = SECRET_A, header: object = {}) => {
  const input = `${b64({ alg: 'HS256', typ: 'JWT', ...header })}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
};
const rs = (payload: object, key: KeyObject = rsa.privateKey, kid?: string) =>
  jwt.sign(payload, key, { algorithm: 'RS256', noTimestamp: true, ...(kid ? { keyid: kid } : {}) });
const es = (payload: object, kid?: string) =>
  jwt.sign(payload, ec.privateKey, { algorithm: 'ES256', noTimestamp: true, ...(kid ? { keyid: kid } : {}) });
const raw = (header: unknown, payload: unknown, signature = 'c2ln') =>
  `${b64(header)}.${b64(payload)}.${signature}`;

async function code(p: Promise<unknown>): Promise<ErrorDef> {
  try {
    await p;
  } catch (err) {
    if (err instanceof HeraldError) return err.def;
    throw err;
  }
  throw new Error('expected a HeraldError');
}

async function error(p: Promise<unknown>): Promise<HeraldError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof HeraldError) return err;
    throw err;
  }
  throw new Error('expected a HeraldError');
}

describe('TokenVerifier.verifyConnectionToken: accepted tokens', () => {
  it('HS256 with the first and the second secret (rotation)', async () => {
    expect(await verifier.verifyConnectionToken(app, hs(base()))).toEqual({
      sub: 'u1',
      exp: NOW + 60,
      iat: NOW - 10,
    });
    expect((await verifier.verifyConnectionToken(app, hs(base(), SECRET_B))).sub).toBe('u1');
  });

  it('RS256 and ES256, with and without kid', async () => {
    expect((await verifier.verifyConnectionToken(app, rs(base(), rsa.privateKey, 'rsa-1'))).sub).toBe('u1');
    expect((await verifier.verifyConnectionToken(app, rs(base()))).sub).toBe('u1');
    expect((await verifier.verifyConnectionToken(app, es(base(), 'ec-1'))).sub).toBe('u1');
    expect((await verifier.verifyConnectionToken(app, es(base()))).sub).toBe('u1');
  });

  it('tries every key of the type when there is no kid', async () => {
    expect(
      (await verifier.verifyConnectionToken(rsaNoKid, rs(base({ aud: 'nokid' }), rsa.privateKey))).sub,
    ).toBe('u1');
  });

  it('without aud, and with aud as an array containing the app', async () => {
    expect((await verifier.verifyConnectionToken(app, hs(base({ aud: undefined })))).sub).toBe('u1');
    expect((await verifier.verifyConnectionToken(app, hs(base({ aud: ['x', 'acme'] })))).sub).toBe('u1');
  });

  it('returns channels, info and jti', async () => {
    const claims = await verifier.verifyConnectionToken(
      app,
      hs(base({ channels: ['news', 'chat:#u1'], info: { name: 'Ann' }, jti: 't-1' })),
    );
    expect(claims).toEqual({
      sub: 'u1',
      exp: NOW + 60,
      iat: NOW - 10,
      jti: 't-1',
      channels: ['news', 'chat:#u1'],
      info: { name: 'Ann' },
    });
  });

  it('signConnectionToken produces tokens the verifier accepts, with aud = app id', async () => {
    const token = signConnectionToken(
      app,
      { sub: 'u2' },
      { expiresInSeconds: 60, nowSec: NOW, secretIndex: 1 },
    );
    expect(jwt.decode(token)).toMatchObject({ aud: 'acme', sub: 'u2', iat: NOW, exp: NOW + 60 });
    expect((await verifier.verifyConnectionToken(app, token)).sub).toBe('u2');
  });
});

describe('TokenVerifier.verifyConnectionToken: refusals', () => {
  it.each([
    ['empty', ''],
    ['two parts', 'a.b'],
    ['four parts', 'a.b.c.d'],
    ['not base64url', 'a+b.c/d.e'],
    ['empty header', '.e30.c2ln'],
    ['header not JSON', `${b64('nope')}.${b64({})}.c2ln`],
    ['header an array', raw([1], {})],
    ['header without alg', raw({ typ: 'JWT' }, {})],
    ['alg not a string', raw({ alg: 1 }, {})],
    ['payload not JSON', `${b64({ alg: 'HS256' })}.${b64('{')}.c2ln`],
    ['payload not an object', raw({ alg: 'HS256' }, [1])],
    ['kid not a string', raw({ alg: 'RS256', kid: 1 }, base())],
    ['crit header', raw({ alg: 'HS256', crit: ['b64'] }, base())],
    ['too long', 'a'.repeat(MAX_TOKEN_LENGTH + 1)],
  ])('TOKEN_MALFORMED: %s', async (_name, token) => {
    expect(await code(verifier.verifyConnectionToken(app, token))).toBe(ErrorCode.TOKEN_MALFORMED);
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])('TOKEN_UNSIGNED: alg %s', async (alg) => {
    expect(await code(verifier.verifyConnectionToken(app, raw({ alg }, base(), '')))).toBe(
      ErrorCode.TOKEN_UNSIGNED,
    );
    expect(await code(verifier.verifyConnectionToken(app, raw({ alg }, base())))).toBe(
      ErrorCode.TOKEN_UNSIGNED,
    );
  });

  it('TOKEN_UNSIGNED: HS256 header with an empty signature', async () => {
    const [h, p] = hs(base()).split('.');
    expect(await code(verifier.verifyConnectionToken(app, `${h}.${p}.`))).toBe(ErrorCode.TOKEN_UNSIGNED);
  });

  it.each(['HS384', 'HS512', 'RS512', 'PS256', 'ES384', 'EdDSA', 'hs256'])(
    'TOKEN_ALGORITHM: alg %s',
    async (alg) => {
      expect(await code(verifier.verifyConnectionToken(app, raw({ alg }, base())))).toBe(
        ErrorCode.TOKEN_ALGORITHM,
      );
    },
  );

  it('TOKEN_ALGORITHM: RS256 or ES256 when the app has no public key of that type', async () => {
    expect(await code(verifier.verifyConnectionToken(hsOnly, rs(base({ aud: 'hs' }))))).toBe(
      ErrorCode.TOKEN_ALGORITHM,
    );
    expect(await code(verifier.verifyConnectionToken(hsOnly, es(base({ aud: 'hs' }))))).toBe(
      ErrorCode.TOKEN_ALGORITHM,
    );
    expect(await code(verifier.verifyConnectionToken(rsaNoKid, es(base({ aud: 'nokid' }))))).toBe(
      ErrorCode.TOKEN_ALGORITHM,
    );
  });

  it('TOKEN_ALGORITHM: kid naming a key of the other type', async () => {
    expect(await code(verifier.verifyConnectionToken(app, rs(base(), rsa.privateKey, 'ec-1')))).toBe(
      ErrorCode.TOKEN_ALGORITHM,
    );
  });

  it('TOKEN_ALGORITHM: the HS/RS confusion attack (public key PEM used as HMAC secret) is named', async () => {
    const header = b64({ alg: 'HS256', typ: 'JWT' });
    const payload = b64(base());
    for (const keyText of [pem(rsa.publicKey), pem(rsa.publicKey).trim(), pem(ec.publicKey)]) {
      const sig = createHmac('sha256', keyText).update(`${header}.${payload}`).digest('base64url');
      const err = await error(verifier.verifyConnectionToken(app, `${header}.${payload}.${sig}`));
      expect(err.def).toBe(ErrorCode.TOKEN_ALGORITHM);
      expect(err.message).toContain('algorithm confusion attack');
      expect(err.details).toMatchObject({ attack: 'hs-rs-confusion' });
    }
    const pkcs1 = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const sig = createHmac('sha256', pkcs1).update(`${header}.${payload}`).digest('base64url');
    expect(await code(verifier.verifyConnectionToken(app, `${header}.${payload}.${sig}`))).toBe(
      ErrorCode.TOKEN_ALGORITHM,
    );
  });

  it('TOKEN_SIGNATURE: wrong secret, tampered payload, wrong key pair, unknown kid', async () => {
    expect(await code(verifier.verifyConnectionToken(app, hs(base(), OTHER_SECRET)))).toBe(
      ErrorCode.TOKEN_SIGNATURE,
    );
    const [h, , s] = hs(base()).split('.');
    expect(await code(verifier.verifyConnectionToken(app, `${h}.${b64(base({ sub: 'admin' }))}.${s}`))).toBe(
      ErrorCode.TOKEN_SIGNATURE,
    );
    expect(await code(verifier.verifyConnectionToken(app, rs(base(), rsa2.privateKey)))).toBe(
      ErrorCode.TOKEN_SIGNATURE,
    );
    expect(await code(verifier.verifyConnectionToken(app, rs(base(), rsa2.privateKey, 'rsa-1')))).toBe(
      ErrorCode.TOKEN_SIGNATURE,
    );
    expect(await code(verifier.verifyConnectionToken(app, rs(base(), rsa.privateKey, 'rsa-9')))).toBe(
      ErrorCode.TOKEN_SIGNATURE,
    );
  });

  it('TOKEN_WRONG_APP: aud of another app, checked before the signature', async () => {
    // Signed by the other app's secret: still reported as the wrong app, not as a bad signature.
    expect(await code(verifier.verifyConnectionToken(app, hs(base({ aud: 'other' }), OTHER_SECRET)))).toBe(
      ErrorCode.TOKEN_WRONG_APP,
    );
    expect(await code(verifier.verifyConnectionToken(app, hs(base({ aud: ['other'] }))))).toBe(
      ErrorCode.TOKEN_WRONG_APP,
    );
    expect(await code(verifier.verifyConnectionToken(app, hs(base({ aud: 7 }))))).toBe(
      ErrorCode.TOKEN_WRONG_APP,
    );
    expect(await code(verifier.verifyConnectionToken(other, hs(base())))).toBe(ErrorCode.TOKEN_WRONG_APP);
  });

  it('TOKEN_EXPIRED: at and after exp, by the injected clock and by nowSec', async () => {
    const token = hs(base());
    clockMs = (NOW + 60) * 1000;
    expect(await code(verifier.verifyConnectionToken(app, token))).toBe(ErrorCode.TOKEN_EXPIRED);
    clockMs = (NOW + 59) * 1000;
    expect((await verifier.verifyConnectionToken(app, token)).sub).toBe('u1');
    expect(await code(verifier.verifyConnectionToken(app, token, NOW + 61))).toBe(ErrorCode.TOKEN_EXPIRED);
  });

  it('TOKEN_EXPIRED honours a configured leeway', async () => {
    const lenient = new TokenVerifier(revocations, { now: () => clockMs, leewaySeconds: 5 });
    const token = hs(base());
    expect((await lenient.verifyConnectionToken(app, token, NOW + 64)).sub).toBe('u1');
    expect(await code(lenient.verifyConnectionToken(app, token, NOW + 65))).toBe(ErrorCode.TOKEN_EXPIRED);
  });

  it.each([
    ['no sub', base({ sub: undefined })],
    ['empty sub (anonymous is not supported)', base({ sub: '' })],
    ['sub not a string', base({ sub: 42 })],
    ['sub with a space', base({ sub: 'a b' })],
    ['sub with "#"', base({ sub: 'a#b' })],
    ['sub too long', base({ sub: 'u'.repeat(129) })],
    ['no exp', base({ exp: undefined })],
    ['exp a string', base({ exp: String(NOW + 60) })],
    ['iat a string', base({ iat: 'now' })],
    ['jti a number', base({ jti: 5 })],
    ['channels not an array', base({ channels: 'news' })],
    ['channels with a number', base({ channels: ['news', 1] })],
    ['channels with an invalid name', base({ channels: ['bad channel'] })],
    ['nbf in the future', base({ nbf: NOW + 30 })],
    ['a subscription token (channel claim)', base({ channel: 'news' })],
  ])('TOKEN_CLAIMS: %s', async (_name, payload) => {
    expect(await code(verifier.verifyConnectionToken(app, hs(payload)))).toBe(ErrorCode.TOKEN_CLAIMS);
  });

  it('TOKEN_REVOKED: revoked jti, only in its app', async () => {
    await revocations.revokeToken('acme', 'jti-1', 60_000);
    expect(await code(verifier.verifyConnectionToken(app, hs(base({ jti: 'jti-1' }))))).toBe(
      ErrorCode.TOKEN_REVOKED,
    );
    expect((await verifier.verifyConnectionToken(app, hs(base({ jti: 'jti-2' })))).sub).toBe('u1');
    await revocations.revokeToken('other', 'jti-3', 60_000);
    expect((await verifier.verifyConnectionToken(app, hs(base({ jti: 'jti-3' })))).sub).toBe('u1');
  });

  it('TOKEN_REVOKED: user revoked before iat; tokens issued later, or of other users, pass', async () => {
    await revocations.revokeUser('acme', 'u9', NOW - 5, 60_000);
    expect(await code(verifier.verifyConnectionToken(app, hs(base({ sub: 'u9', iat: NOW - 10 }))))).toBe(
      ErrorCode.TOKEN_REVOKED,
    );
    // Without iat a token cannot prove it came after the mark.
    expect(await code(verifier.verifyConnectionToken(app, hs(base({ sub: 'u9', iat: undefined }))))).toBe(
      ErrorCode.TOKEN_REVOKED,
    );
    expect((await verifier.verifyConnectionToken(app, hs(base({ sub: 'u9', iat: NOW - 5 })))).sub).toBe('u9');
    expect((await verifier.verifyConnectionToken(app, hs(base({ sub: 'u8', iat: NOW - 10 })))).sub).toBe(
      'u8',
    );
  });
});

describe('TokenVerifier.verifySubscriptionToken', () => {
  const ctx = { client: 'c-1', user: 'u1', channel: 'secret:room' };
  const sub = (over: Record<string, unknown> = {}) => base({ channel: 'secret:room', ...over });

  it('accepts a token for this user and channel, returning exp and info', async () => {
    expect(await verifier.verifySubscriptionToken(app, hs(sub({ info: { role: 'mod' } })), ctx)).toEqual({
      exp: NOW + 60,
      info: { role: 'mod' },
    });
    expect(await verifier.verifySubscriptionToken(app, hs(sub({ client: 'c-1' })), ctx)).toEqual({
      exp: NOW + 60,
    });
    expect(await verifier.verifySubscriptionToken(app, es(sub()), ctx)).toEqual({ exp: NOW + 60 });
  });

  it('signSubscriptionToken produces accepted tokens', async () => {
    const token = signSubscriptionToken(
      app,
      { sub: 'u1', channel: 'secret:room' },
      { expiresInSeconds: 30, nowSec: NOW },
    );
    expect(await verifier.verifySubscriptionToken(app, token, ctx)).toEqual({ exp: NOW + 30 });
  });

  it.each([
    ['another user', sub({ sub: 'u2' }), 'sub'],
    ['another channel', sub({ channel: 'secret:other' }), 'channel'],
    ['no channel (a connection token)', base(), 'channel'],
    ['another connection', sub({ client: 'c-2' }), 'client'],
    ['no exp', sub({ exp: undefined }), 'exp'],
  ])('TOKEN_CLAIMS: %s', async (_name, payload, claim) => {
    const err = await error(verifier.verifySubscriptionToken(app, hs(payload), ctx));
    expect(err.def).toBe(ErrorCode.TOKEN_CLAIMS);
    expect(err.details).toMatchObject({ claim });
  });

  it('shares the taxonomy: malformed, unsigned, wrong app, signature, expired, revoked', async () => {
    expect(await code(verifier.verifySubscriptionToken(app, 'x', ctx))).toBe(ErrorCode.TOKEN_MALFORMED);
    expect(await code(verifier.verifySubscriptionToken(app, raw({ alg: 'none' }, sub(), ''), ctx))).toBe(
      ErrorCode.TOKEN_UNSIGNED,
    );
    expect(
      await code(verifier.verifySubscriptionToken(app, hs(sub({ aud: 'other' }), OTHER_SECRET), ctx)),
    ).toBe(ErrorCode.TOKEN_WRONG_APP);
    expect(await code(verifier.verifySubscriptionToken(app, hs(sub(), OTHER_SECRET), ctx))).toBe(
      ErrorCode.TOKEN_SIGNATURE,
    );
    expect(await code(verifier.verifySubscriptionToken(app, hs(sub()), ctx, NOW + 60))).toBe(
      ErrorCode.TOKEN_EXPIRED,
    );
    await revocations.revokeToken('acme', 'sub-jti', 60_000);
    expect(await code(verifier.verifySubscriptionToken(app, hs(sub({ jti: 'sub-jti' })), ctx))).toBe(
      ErrorCode.TOKEN_REVOKED,
    );
  });
});
