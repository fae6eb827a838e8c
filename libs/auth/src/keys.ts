/**
 * KeyObjects for an app's secrets and public keys, cached by key material. jsonwebtoken verifies
 * about 50x faster with a KeyObject than with a string secret, which it would otherwise re-import on
 * every call. The cache is keyed by the material (not the AppConfig object) so a control store that
 * returns fresh objects per lookup still hits it, and it is bounded so rotated-out keys fall away.
 */
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import type { AppConfig, PublicKeyConfig } from '@herald/config';
import { secretHasScope } from './secret.js';

export type PublicKeyType = 'rsa' | 'ec';

export interface AppPublicKey {
  kid?: string;
  type: PublicKeyType;
  key: KeyObject;
  /**
   * Byte strings an attacker could use as an HMAC key when forging an HS256 token from this public
   * key (the configured PEM, canonical SPKI/PKCS#1 PEMs with and without the trailing newline, DER).
   * Only used to name the algorithm-confusion attack in the error; never to accept a token.
   */
  confusionCandidates: Buffer[];
}

const MAX_CACHED = 4096;
const secrets = new Map<string, KeyObject>();
const publicKeys = new Map<string, AppPublicKey>();

function remember<V>(cache: Map<string, V>, key: string, make: () => V): V {
  const hit = cache.get(key);
  if (hit) return hit;
  const value = make();
  if (cache.size >= MAX_CACHED) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(key, value);
  return value;
}

/**
 * HMAC keys of the secrets allowed to sign tokens (`token` scope). Only the app's live secrets are
 * consulted, so a revoked or retired secret stops verifying as soon as the app snapshot drops it;
 * its cached KeyObject is merely unreachable until evicted.
 */
export function secretKeys(app: AppConfig): KeyObject[] {
  const out: KeyObject[] = [];
  for (const [i, s] of app.secrets.entries()) {
    if (secretHasScope(app, i, 'token'))
      out.push(remember(secrets, s, () => createSecretKey(Buffer.from(s, 'utf8'))));
  }
  return out;
}

export function appPublicKeys(app: AppConfig): AppPublicKey[] {
  return app.publicKeys.map((k) =>
    remember(publicKeys, `${k.kid ?? ''}\n${k.pem}`, () => importPublicKey(k)),
  );
}

function importPublicKey(config: PublicKeyConfig): AppPublicKey {
  const key = createPublicKey(config.pem);
  const type = key.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ec') {
    // The config schema refuses other key types; this guards hand-built AppConfigs.
    throw new Error(`unsupported public key type ${String(type)}`);
  }
  const spki = key.export({ type: 'spki', format: 'pem' }).toString();
  const texts = new Set([config.pem, config.pem.trim(), `${config.pem.trim()}\n`, spki, spki.trim()]);
  if (type === 'rsa') {
    const pkcs1 = key.export({ type: 'pkcs1', format: 'pem' }).toString();
    texts.add(pkcs1).add(pkcs1.trim());
  }
  const candidates = [...texts].map((t) => Buffer.from(t, 'utf8'));
  candidates.push(key.export({ type: 'spki', format: 'der' }));
  return { kid: config.kid, type, key, confusionCandidates: candidates };
}
