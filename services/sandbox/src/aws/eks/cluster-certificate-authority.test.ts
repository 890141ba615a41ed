import { X509Certificate } from 'node:crypto';
import { createClusterCertificateAuthority } from './cluster-certificate-authority.js';

it('makes a self-signed CA certificate that X.509 parsers accept', () => {
  const now = Date.UTC(2026, 10, 26);
  const pem = createClusterCertificateAuthority('shop-us-east-1', now);
  const certificate = new X509Certificate(pem);
  expect(certificate.subject).toBe('CN=shop-us-east-1');
  expect(certificate.issuer).toBe('CN=shop-us-east-1');
  expect(certificate.ca).toBe(true);
  expect(certificate.verify(certificate.publicKey)).toBe(true);
  expect(new Date(certificate.validFrom).getTime()).toBeLessThanOrEqual(now);
  expect(new Date(certificate.validTo).getTime()).toBeGreaterThan(now + 9 * 365 * 24 * 3600_000);
  expect(createClusterCertificateAuthority('shop-us-east-1', now)).not.toBe(pem);
});
