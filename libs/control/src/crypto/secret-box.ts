/**
 * Encryption at rest for server secrets, webhook signing secrets and push credentials: AES-256-GCM
 * under the node's master key (HERALD_MASTER_KEY).
 *
 * Sealed layout: `v1` (1 byte) | key id (4 bytes) | IV (12 bytes, random per seal) | tag (16) | ciphertext.
 * - The key id (first 4 bytes of SHA-256 of the key) tells "wrong master key" apart from "tampered
 *   data", so a node started with another key fails with a clear message instead of a GCM error.
 * - Every seal carries additional authenticated data naming its owner (`app/secret/<id>`), so a
 *   ciphertext copied into another row (another app's secret) does not decrypt.
 * - Random 96-bit IVs: with one key, GCM stays safe far beyond the number of secrets a control plane
 *   ever writes (the 2^32 bound).
 * Nothing here logs, and errors never include plaintext, ciphertext or key material.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 1;
const KEY_ID_BYTES = 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER = 1 + KEY_ID_BYTES + IV_BYTES + TAG_BYTES;

export class MasterKeyMismatchError extends Error {
  constructor() {
    super(
      'HERALD_MASTER_KEY is not the key this control store was encrypted with; start the node with the original key',
    );
    this.name = 'MasterKeyMismatchError';
  }
}

export class SecretBox {
  private readonly key: Buffer;
  readonly keyId: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the master key must be 32 bytes (AES-256)');
    this.key = Buffer.from(key);
    this.keyId = createHash('sha256').update(this.key).digest().subarray(0, KEY_ID_BYTES);
  }

  seal(plaintext: string | Buffer, aad: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), this.keyId, iv, cipher.getAuthTag(), body]);
  }

  open(sealed: Buffer, aad: string): Buffer {
    if (sealed.length < HEADER || sealed[0] !== VERSION)
      throw new Error('sealed value has an unknown format');
    if (!sealed.subarray(1, 1 + KEY_ID_BYTES).equals(this.keyId)) throw new MasterKeyMismatchError();
    const iv = sealed.subarray(1 + KEY_ID_BYTES, 1 + KEY_ID_BYTES + IV_BYTES);
    const tag = sealed.subarray(1 + KEY_ID_BYTES + IV_BYTES, HEADER);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(sealed.subarray(HEADER)), decipher.final()]);
    } catch {
      throw new Error(`sealed value for ${aad} failed authentication (tampered or moved between rows)`);
    }
  }

  openText(sealed: Buffer, aad: string): string {
    return this.open(sealed, aad).toString('utf8');
  }
}
