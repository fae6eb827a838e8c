import { createHmac, generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';

/**
 * Token builders for auth tests: well-formed tokens as a tenant backend signs them, and the broken
 * or hostile ones a verifier must refuse (unsigned, algorithm confusion, wrong audience, ...).
 * Kept free of @herald/auth so the harness signs independently of the code under test.
 */
export interface TokenClaims {
  sub?: string;
  aud?: string | string[];
  exp?: number;
  iat?: number;
  jti?: string;
  channels?: string[];
  channel?: string;
  client?: string;
  info?: unknown;
}

export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

/** Default claims (`iat` now, `exp` in an hour) merged with `claims`; `undefined` values are dropped. */
export function claimsWithDefaults(claims: TokenClaims): Record<string, unknown> {
  const now = nowSec();
  const out: Record<string, unknown> = { iat: now, exp: now + 3600, ...claims };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

export function signHs256(secret: string, claims: TokenClaims): string {
  return jwt.sign(claimsWithDefaults(claims), secret, { algorithm: 'HS256', noTimestamp: true });
}

export function signAsymmetric(
  privateKeyPem: string,
  alg: 'RS256' | 'ES256',
  claims: TokenClaims,
  kid?: string,
): string {
  return jwt.sign(claimsWithDefaults(claims), privateKeyPem, {
    algorithm: alg,
    noTimestamp: true,
    ...(kid === undefined ? {} : { keyid: kid }),
  });
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** `alg: none` with an empty signature (the classic unsigned-token attack). */
export function unsignedToken(claims: TokenClaims): string {
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claimsWithDefaults(claims))}.`;
}

/**
 * HS256 with an HMAC key of our choosing, built by hand: used for the RS/HS algorithm confusion
 * attack, where the attacker uses the app's public key PEM (which is public) as the HMAC secret.
 * jsonwebtoken refuses to do this itself, which is exactly why the attack is hand-made.
 */
export function hmacToken(key: string | Buffer, claims: TokenClaims): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claimsWithDefaults(claims))}`;
  const signature = createHmac('sha256', key).update(input).digest('base64url');
  return `${input}.${signature}`;
}

export interface KeyPair {
  publicKeyPem: string;
  privateKeyPem: string;
}

export function rsaKeyPair(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export function ecKeyPair(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
