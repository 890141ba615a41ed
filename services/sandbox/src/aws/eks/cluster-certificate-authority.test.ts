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

// Each certificate has a random serial; one pattern of its bytes (a leading zero byte) used to make
// an INTEGER that OpenSSL rejects as "illegal padding", one certificate in ~256. 1,000 of them hit
// that pattern with a chance of 98% (1 - (255/256)^1000), so a regression cannot stay hidden long.
it('makes certificates that parse whatever their random serial number', () => {
  const now = Date.UTC(2026, 10, 26);
  for (let i = 0; i < 1000; i++) {
    const certificate = new X509Certificate(createClusterCertificateAuthority(`cluster-${i}`, now));
    expect(certificate.serialNumber).toMatch(/^[0-9A-F]+$/);
  }
});
