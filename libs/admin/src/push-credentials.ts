/**
 * Validation of push credentials before they are stored: a credential that cannot work is refused
 * at upload (with what is wrong), not discovered at the first push. Messages name the field and the
 * problem, never the key material.
 */
import { createPrivateKey } from 'node:crypto';
import type { z } from 'zod';
import type { ApnsCredential, FcmCredential } from '@herald/control';
import { ErrorCode, HeraldError } from '@herald/protocol';
import type { apnsBody, fcmBody } from './admin.schemas.js';

const MAX_SERVICE_ACCOUNT_BYTES = 16 * 1024;

function bad(message: string): never {
  throw new HeraldError(ErrorCode.BAD_REQUEST, message);
}

export function apnsCredential(body: z.output<typeof apnsBody>): ApnsCredential {
  let ok = false;
  try {
    const key = createPrivateKey(body.key_p8);
    ok = key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  } catch {
    bad('key_p8 is not a PEM private key (paste the whole .p8 file)');
  }
  if (!ok) bad('key_p8 must be an EC P-256 key, as Apple issues for token-based APNs');
  return {
    provider: 'apns',
    keyP8: body.key_p8,
    keyId: body.key_id,
    teamId: body.team_id,
    bundleId: body.bundle_id,
    environment: body.environment,
  };
}

export function fcmCredential(body: z.output<typeof fcmBody>): FcmCredential {
  const sa = body.service_account;
  if (Buffer.byteLength(JSON.stringify(sa), 'utf8') > MAX_SERVICE_ACCOUNT_BYTES) {
    bad(`service_account exceeds ${MAX_SERVICE_ACCOUNT_BYTES} bytes`);
  }
  if (sa['type'] !== 'service_account') bad('service_account.type must be "service_account"');
  const projectId = sa['project_id'];
  if (typeof projectId !== 'string' || !/^[a-z][a-z0-9-]{4,61}[a-z0-9]$/.test(projectId)) {
    bad('service_account.project_id is missing or not a Firebase project id');
  }
  const email = sa['client_email'];
  if (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
    bad('service_account.client_email is missing or not an email address');
  }
  const privateKey = sa['private_key'];
  if (typeof privateKey !== 'string') bad('service_account.private_key is missing');
  let rsa = false;
  try {
    rsa = createPrivateKey(privateKey).asymmetricKeyType === 'rsa';
  } catch {
    bad('service_account.private_key is not a PEM private key');
  }
  if (!rsa) bad('service_account.private_key must be an RSA key');
  return {
    provider: 'fcm',
    serviceAccount: {
      ...sa,
      type: 'service_account',
      project_id: projectId,
      client_email: email,
      private_key: privateKey,
    },
  };
}
