/**
 * A self-signed CA and a server certificate it signs, made with node:crypto alone (P-256 keys,
 * ECDSA-SHA256, X.509 v3 written in DER by hand with `der-writer.ts`), so the simulated API
 * servers can be served over HTTPS and kubeconfigs can carry `certificate-authority-data`: kubectl
 * only sends a bearer token to an `https` server, and @kubernetes/client-node only trusts one it
 * can verify.
 */
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { certificatePem, objectIdentifier as oid, sequence, set, tlv, unsignedInteger, x509Time as time } from '../der-writer.js';

export interface TlsCredentials {
  /** PEM of the CA certificate: what a kubeconfig's `certificate-authority-data` holds (base64 of this). */
  ca: string;
  /** PEM of the server certificate, valid for `hosts`. */
  cert: string;
  /** PEM (PKCS#8) of the server's private key. */
  key: string;
  hosts: string[];
}

function name(commonName: string): Buffer {
  return sequence(set(sequence(oid('2.5.4.3'), tlv(0x0c, Buffer.from(commonName)))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
}

function ipBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split('.').map(Number));
  const halves = address.split('::');
  const head = (halves[0] ?? '').split(':').filter(Boolean);
  const tail = (halves[1] ?? '').split(':').filter(Boolean);
  const groups = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
  return Buffer.from(groups.flatMap((group) => [parseInt(group, 16) >> 8, parseInt(group, 16) & 0xff]));
}

/** basicConstraints CA:TRUE and keyUsage keyCertSign + cRLSign. */
const CA_EXTENSIONS = [extension('2.5.29.19', true, sequence(tlv(0x01, Buffer.from([0xff])))), extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x01, 0x06])))];

const ECDSA_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));

function certificate(options: { subject: string; issuer: string; publicKey: KeyObject; signer: KeyObject; extensions: Buffer[]; notBefore?: Date; notAfter?: Date }): string {
  const now = Date.now();
  const notBefore = options.notBefore ?? new Date(now - 60 * 60 * 1000);
  const notAfter = options.notAfter ?? new Date(now + 10 * 365 * 24 * 60 * 60 * 1000);
  const tbs = sequence(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    unsignedInteger(randomBytes(16)),
    ECDSA_SHA256,
    name(options.issuer),
    sequence(time(notBefore), time(notAfter)),
    name(options.subject),
    options.publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, sequence(...options.extensions)),
  );
  const signature = sign('sha256', tbs, options.signer);
  const der = sequence(tbs, ECDSA_SHA256, tlv(0x03, Buffer.from([0]), signature));
  return certificatePem(der);
}

/** A fresh CA and a server certificate for `hosts` (DNS names and IP addresses). */
export function createTlsCredentials(hosts: string[] = ['localhost', '127.0.0.1', '::1']): TlsCredentials {
  const authority = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const server = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ca = certificate({
    subject: 'tugboat-sandbox-ca',
    issuer: 'tugboat-sandbox-ca',
    publicKey: authority.publicKey,
    signer: authority.privateKey,
    extensions: CA_EXTENSIONS,
  });
  const alternativeNames = hosts.map((host) => (isIP(host) ? tlv(0x87, ipBytes(host)) : tlv(0x82, Buffer.from(host))));
  const cert = certificate({
    subject: 'tugboat-sandbox-kube-apiserver',
    issuer: 'tugboat-sandbox-ca',
    publicKey: server.publicKey,
    signer: authority.privateKey,
    extensions: [
      extension('2.5.29.19', true, sequence()),
      extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x07, 0x80]))),
      extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.1'))),
      extension('2.5.29.17', false, sequence(...alternativeNames)),
    ],
  });
  return { ca, cert, key: server.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, hosts };
}

/** A certificate authority that can sign further certificates (`issueCertificate`). */
export interface CertificateAuthority {
  /** PEM of the self-signed CA certificate. */
  cert: string;
  /** PEM (PKCS#8) of its private key. */
  key: string;
  commonName: string;
}

export function createCertificateAuthority(commonName: string): CertificateAuthority {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cert = certificate({ subject: commonName, issuer: commonName, publicKey: pair.publicKey, signer: pair.privateKey, extensions: CA_EXTENSIONS });
  return { cert, key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, commonName };
}

/** A TLS server certificate for `dnsNames` (the first is the subject's common name) signed by `authority`, with a fresh key. */
export function issueCertificate(authority: CertificateAuthority, dnsNames: string[], validity: { notBefore: Date; notAfter: Date }): { cert: string; key: string } {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cert = certificate({
    subject: dnsNames[0] ?? 'certificate',
    issuer: authority.commonName,
    publicKey: pair.publicKey,
    signer: createPrivateKey(authority.key),
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    extensions: [
      extension('2.5.29.19', true, sequence()),
      extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x07, 0x80]))),
      extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.1'))),
      extension('2.5.29.17', false, sequence(...dnsNames.map((host) => tlv(0x82, Buffer.from(host))))),
    ],
  });
  return { cert, key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** Whether saved credentials still parse and belong together (a restore must not serve a broken pair). */
export function tlsCredentialsUsable(credentials: TlsCredentials): boolean {
  try {
    const ca = new X509Certificate(credentials.ca);
    const cert = new X509Certificate(credentials.cert);
    return cert.verify(ca.publicKey) && cert.checkPrivateKey(createPrivateKey(credentials.key)) && Date.parse(cert.validTo) > Date.now();
  } catch {
    return false;
  }
}
