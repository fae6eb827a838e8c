/**
 * Verifies the JWTs clients present: connection tokens (`sub` = user id) and subscription tokens
 * for private channels. Every failure has its own error code so operators and SDKs can tell a clock
 * problem from a forged token.
 *
 * Order of checks, and why:
 * 1. Shape (three base64url parts, JSON header with a string `alg`)       → TOKEN_MALFORMED
 * 2. `alg: none` in any case, or an empty signature                        → TOKEN_UNSIGNED
 * 3. `alg` outside HS256/RS256/ES256, or no app key of that type           → TOKEN_ALGORITHM
 * 4. `aud`, before the signature: a token signed by another app's secret
 *    must be reported as "wrong app", not as a bad signature               → TOKEN_WRONG_APP
 * 5. Signature, with an explicit algorithm list per key type; an HS256
 *    token whose HMAC key is one of the app's public key PEMs is the
 *    RS/HS confusion attack and is named as such                           → TOKEN_SIGNATURE / TOKEN_ALGORITHM
 * 6. Claims (types, `sub`, `exp` required, `channels`)                     → TOKEN_CLAIMS
 * 7. Expiry (with configurable leeway, 0 by default)                       → TOKEN_EXPIRED
 * 8. Revocation (token id, or user revoked-before `iat`)                   → TOKEN_REVOKED
 * Nothing from an unverified payload is trusted past step 4, and keys are never taken from the
 * token (`jwk`, `jku`, `x5u` headers are ignored).
 */
import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import jwt from 'jsonwebtoken';
import type { AppConfig } from '@herald/config';
import { ErrorCode, HeraldError, isValidUserId, parseChannel, type ErrorDef } from '@herald/protocol';
import { REVOCATION_STORE, type RevocationStore } from '@herald/state';
import { appPublicKeys, secretKeys, type PublicKeyType } from './keys.js';

export interface ConnectionClaims {
  /** User id (validated with isValidUserId). */
  sub: string;
  /** Expiry, seconds since the epoch (required in tokens; tickets set it to their expiry). */
  exp: number;
  iat?: number;
  jti?: string;
  /** Channels the connection is subscribed to server-side. */
  channels?: string[];
  /** Opaque user info, shown in presence. */
  info?: unknown;
}

export interface SubscriptionClaims {
  exp: number;
  info?: unknown;
}

export interface SubscriptionContext {
  /** Connection (client) id; checked against a `client` claim when the token has one. */
  client: string;
  /** The connection's user. */
  user: string;
  channel: string;
}

export interface TokenVerifierOptions {
  /** Seconds of clock skew tolerated on `exp` and `nbf` (default 0). */
  leewaySeconds?: number;
  /** Milliseconds since the epoch (default Date.now); injected in tests. */
  now?: () => number;
}

export const TOKEN_VERIFIER_OPTIONS = Symbol('TokenVerifierOptions');

/** Tokens are bounded like every other input; a real connection token is well under 2 KiB. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

type Alg = 'HS256' | 'RS256' | 'ES256';
const KEY_TYPE: Record<Exclude<Alg, 'HS256'>, PublicKeyType> = { RS256: 'rsa', ES256: 'ec' };
const B64URL_RE = /^[A-Za-z0-9_-]*$/;

interface Decoded {
  alg: Alg;
  kid?: string;
  signingInput: string;
  signature: string;
  payload: Record<string, unknown>;
}

function fail(def: ErrorDef, message: string, details?: Record<string, unknown>): never {
  throw new HeraldError(def, message, details);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

@Injectable()
export class TokenVerifier {
  private readonly leeway: number;
  private readonly now: () => number;

  constructor(
    @Inject(REVOCATION_STORE) private readonly revocations: RevocationStore,
    @Optional() @Inject(TOKEN_VERIFIER_OPTIONS) options?: TokenVerifierOptions,
  ) {
    this.leeway = options?.leewaySeconds ?? 0;
    this.now = options?.now ?? Date.now;
  }

  async verifyConnectionToken(app: AppConfig, token: string, nowSec?: number): Promise<ConnectionClaims> {
    const decoded = this.verifySigned(app, token);
    const p = decoded.payload;
    if (p['channel'] !== undefined) {
      // A subscription token must not double as a connection token (it is handed to the client for
      // one channel, and may be issued with a longer lifetime).
      fail(ErrorCode.TOKEN_CLAIMS, 'a subscription token (with a channel claim) cannot be used to connect');
    }
    const common = this.commonClaims(p);
    let channels: string[] | undefined;
    if (p['channels'] !== undefined) {
      const list = p['channels'];
      if (!Array.isArray(list) || !list.every((c): c is string => typeof c === 'string')) {
        fail(ErrorCode.TOKEN_CLAIMS, 'claim "channels" must be an array of strings', { claim: 'channels' });
      }
      const bad = list.find((c) => parseChannel(c) === undefined);
      if (bad !== undefined) {
        fail(ErrorCode.TOKEN_CLAIMS, `claim "channels" contains an invalid channel name`, {
          claim: 'channels',
          channel: bad,
        });
      }
      channels = list;
    }
    this.checkTime(common.exp, common.nbf, nowSec);
    await this.checkRevoked(app.id, common.sub, common.jti, common.iat);
    const claims: ConnectionClaims = { sub: common.sub, exp: common.exp };
    if (common.iat !== undefined) claims.iat = common.iat;
    if (common.jti !== undefined) claims.jti = common.jti;
    if (channels !== undefined) claims.channels = channels;
    if (p['info'] !== undefined) claims.info = p['info'];
    return claims;
  }

  async verifySubscriptionToken(
    app: AppConfig,
    token: string,
    context: SubscriptionContext,
    nowSec?: number,
  ): Promise<SubscriptionClaims> {
    const decoded = this.verifySigned(app, token);
    const p = decoded.payload;
    const common = this.commonClaims(p);
    if (typeof p['channel'] !== 'string') {
      fail(ErrorCode.TOKEN_CLAIMS, 'subscription token needs a "channel" claim', { claim: 'channel' });
    }
    if (p['channel'] !== context.channel) {
      fail(ErrorCode.TOKEN_CLAIMS, 'subscription token was issued for another channel', { claim: 'channel' });
    }
    if (common.sub !== context.user) {
      fail(ErrorCode.TOKEN_CLAIMS, 'subscription token was issued for another user', { claim: 'sub' });
    }
    if (p['client'] !== undefined && p['client'] !== context.client) {
      fail(ErrorCode.TOKEN_CLAIMS, 'subscription token was issued for another connection', {
        claim: 'client',
      });
    }
    this.checkTime(common.exp, common.nbf, nowSec);
    await this.checkRevoked(app.id, common.sub, common.jti, common.iat);
    const claims: SubscriptionClaims = { exp: common.exp };
    if (p['info'] !== undefined) claims.info = p['info'];
    return claims;
  }

  /** Steps 1–5 of the module comment: a payload whose signature verifies with one of the app's keys. */
  private verifySigned(app: AppConfig, token: string): Decoded {
    const decoded = decode(token);
    checkAudience(app, decoded.payload);
    const candidates = this.keysFor(app, decoded);
    for (const key of candidates) {
      if (jwtVerifies(token, key, decoded.alg)) return decoded;
    }
    if (decoded.alg === 'HS256' && isConfusionAttack(app, decoded)) {
      fail(
        ErrorCode.TOKEN_ALGORITHM,
        'HS256 token signed with one of the app public keys as HMAC secret (algorithm confusion attack)',
        { alg: decoded.alg, attack: 'hs-rs-confusion' },
      );
    }
    fail(ErrorCode.TOKEN_SIGNATURE, 'token signature does not verify with any key of the app', {
      alg: decoded.alg,
    });
  }

  private keysFor(app: AppConfig, decoded: Decoded): KeyObject[] {
    // HS256 uses the server secrets (both while rotating). `kid` only selects public keys.
    if (decoded.alg === 'HS256') return secretKeys(app);
    const type = KEY_TYPE[decoded.alg];
    const all = appPublicKeys(app);
    if (decoded.kid !== undefined) {
      const named = all.find((k) => k.kid === decoded.kid);
      if (!named) {
        fail(ErrorCode.TOKEN_SIGNATURE, `the app has no public key with kid "${decoded.kid}"`, {
          alg: decoded.alg,
        });
      }
      if (named.type !== type) {
        fail(
          ErrorCode.TOKEN_ALGORITHM,
          `key "${decoded.kid}" is ${named.type}, token alg is ${decoded.alg}`,
          {
            alg: decoded.alg,
          },
        );
      }
      return [named.key];
    }
    const ofType = all.filter((k) => k.type === type).map((k) => k.key);
    if (ofType.length === 0) {
      fail(
        ErrorCode.TOKEN_ALGORITHM,
        `${decoded.alg} token but the app has no ${type.toUpperCase()} public key`,
        {
          alg: decoded.alg,
        },
      );
    }
    return ofType;
  }

  private commonClaims(p: Record<string, unknown>) {
    const sub = p['sub'];
    if (typeof sub !== 'string' || !isValidUserId(sub)) {
      // Anonymous connections are not supported: every connection is a known user, so per-user
      // limits, revocation and personal channels always apply.
      fail(ErrorCode.TOKEN_CLAIMS, 'claim "sub" must be a valid, non-empty user id', { claim: 'sub' });
    }
    const exp = p['exp'];
    if (typeof exp !== 'number' || !Number.isFinite(exp)) {
      fail(ErrorCode.TOKEN_CLAIMS, 'claim "exp" is required and must be a number', { claim: 'exp' });
    }
    const iat = optionalNumber(p, 'iat');
    const nbf = optionalNumber(p, 'nbf');
    const jti = p['jti'];
    if (jti !== undefined && (typeof jti !== 'string' || jti.length === 0 || jti.length > 256)) {
      fail(ErrorCode.TOKEN_CLAIMS, 'claim "jti" must be a non-empty string', { claim: 'jti' });
    }
    return { sub, exp, iat, nbf, jti: jti as string | undefined };
  }

  private nowSeconds(nowSec: number | undefined): number {
    return nowSec ?? this.now() / 1000;
  }

  private checkTime(exp: number, nbf: number | undefined, nowSec: number | undefined): void {
    const now = this.nowSeconds(nowSec);
    // RFC 7519: the token must not be accepted on or after exp.
    if (now >= exp + this.leeway) {
      fail(ErrorCode.TOKEN_EXPIRED, 'token has expired', { exp });
    }
    if (nbf !== undefined && now < nbf - this.leeway) {
      fail(ErrorCode.TOKEN_CLAIMS, 'token is not valid yet (nbf)', { claim: 'nbf' });
    }
  }

  private async checkRevoked(
    appId: string,
    user: string,
    jti: string | undefined,
    iat: number | undefined,
  ): Promise<void> {
    if (jti !== undefined && (await this.revocations.isTokenRevoked(appId, jti))) {
      fail(ErrorCode.TOKEN_REVOKED, 'token has been revoked');
    }
    const before = await this.revocations.userRevokedBefore(appId, user);
    // A token without iat cannot prove it was issued after the mark, so it is revoked too.
    if (before !== undefined && (iat === undefined || iat < before)) {
      fail(ErrorCode.TOKEN_REVOKED, "the user's tokens issued before this one was revoked");
    }
  }
}

function optionalNumber(p: Record<string, unknown>, claim: string): number | undefined {
  const v = p[claim];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    fail(ErrorCode.TOKEN_CLAIMS, `claim "${claim}" must be a number`, { claim });
  }
  return v;
}

function decode(token: string): Decoded {
  if (typeof token !== 'string' || token.length === 0) fail(ErrorCode.TOKEN_MALFORMED, 'token is empty');
  if (token.length > MAX_TOKEN_LENGTH) {
    fail(ErrorCode.TOKEN_MALFORMED, `token is longer than ${MAX_TOKEN_LENGTH} characters`);
  }
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((x) => B64URL_RE.test(x)) || !parts[0] || !parts[1]) {
    fail(ErrorCode.TOKEN_MALFORMED, 'token must be three base64url parts separated by "."');
  }
  const [h, p, signature] = parts;
  const header = decodeJson(h);
  if (!isRecord(header) || typeof header['alg'] !== 'string') {
    fail(ErrorCode.TOKEN_MALFORMED, 'token header must be a JSON object with an "alg"');
  }
  const rawAlg = header['alg'];
  if (rawAlg.toLowerCase() === 'none' || signature.length === 0) {
    fail(ErrorCode.TOKEN_UNSIGNED, 'unsigned tokens are refused');
  }
  if (rawAlg !== 'HS256' && rawAlg !== 'RS256' && rawAlg !== 'ES256') {
    fail(ErrorCode.TOKEN_ALGORITHM, `algorithm ${rawAlg} is not accepted (use HS256, RS256 or ES256)`, {
      alg: rawAlg,
    });
  }
  if (header['crit'] !== undefined) {
    // RFC 7515 4.1.11: a recipient that does not understand a critical extension must refuse.
    fail(ErrorCode.TOKEN_MALFORMED, 'token header "crit" extensions are not supported');
  }
  const kid = header['kid'];
  if (kid !== undefined && typeof kid !== 'string')
    fail(ErrorCode.TOKEN_MALFORMED, 'header "kid" must be a string');
  const payload = decodeJson(p);
  if (!isRecord(payload)) fail(ErrorCode.TOKEN_MALFORMED, 'token payload must be a JSON object');
  return { alg: rawAlg, kid, signingInput: `${h}.${p}`, signature, payload };
}

function checkAudience(app: AppConfig, payload: Record<string, unknown>): void {
  const aud = payload['aud'];
  if (aud === undefined) return;
  const ok = typeof aud === 'string' ? aud === app.id : Array.isArray(aud) && aud.includes(app.id);
  if (!ok) fail(ErrorCode.TOKEN_WRONG_APP, 'token audience (aud) is not this app');
}

function jwtVerifies(token: string, key: KeyObject, alg: Alg): boolean {
  try {
    // Expiry and nbf are checked by TokenVerifier with its injected clock and precise codes.
    jwt.verify(token, key, { algorithms: [alg], ignoreExpiration: true, ignoreNotBefore: true });
    return true;
  } catch {
    return false;
  }
}

function isConfusionAttack(app: AppConfig, decoded: Decoded): boolean {
  const signature = Buffer.from(decoded.signature, 'base64url');
  for (const key of appPublicKeys(app)) {
    for (const candidate of key.confusionCandidates) {
      const mac = createHmac('sha256', candidate).update(decoded.signingInput).digest();
      if (mac.length === signature.length && timingSafeEqual(mac, signature)) return true;
    }
  }
  return false;
}
