import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  /** PEM of the certificate (also its own CA: trust it with `ca`). */
  cert: string;
  key: string;
  /** Files of the two, for config keys that take paths (`push.caFile`, `http.tls`). */
  certFile: string;
  keyFile: string;
  dispose(): void;
}

/**
 * A self-signed EC P-256 certificate for 127.0.0.1 (IP SAN), made with the openssl CLI at test time:
 * Node has no API that creates X.509 certificates, and nothing is checked in.
 */
export function createTestCert(host = '127.0.0.1'): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'herald-test-cert-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      `/CN=${host}`,
      '-addext',
      `subjectAltName=IP:${host}`,
    ],
    { stdio: 'ignore' },
  );
  return {
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
    certFile,
    keyFile,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
