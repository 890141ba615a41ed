/**
 * A self-signed X.509 CA certificate per EKS cluster, for `certificateAuthority.data`. The simulated
 * API servers speak plain HTTP, so nothing is ever verified against it, but clients parse it
 * (kubectl refuses a kubeconfig whose CA data is not a certificate), so it is a real one: an ECDSA
 * P-256 key, built with node:crypto and a few lines of DER (`der-writer.ts`).
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { certificatePem, objectIdentifier as oid, sequence, set, tlv, unsignedInteger, x509Time as time } from '../../der-writer.js';

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
};

/** PEM of a CA certificate for `commonName`, valid from `now` for ten years. */
export function createClusterCertificateAuthority(commonName: string, now: number): string {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const algorithm = sequence(oid(OID.ecdsaWithSha256));
  const name = sequence(set(sequence(oid(OID.commonName), tlv(0x0c, Buffer.from(commonName, 'utf8')))));
  const notBefore = new Date(now - 60_000);
  const notAfter = new Date(now + 10 * 365 * 24 * 3600_000);
  const tbs = sequence(
    tlv(0xa0, unsignedInteger(Buffer.from([2]))),
    unsignedInteger(randomBytes(16)),
    algorithm,
    name,
    sequence(time(notBefore), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(
      0xa3,
      sequence(
        sequence(oid(OID.basicConstraints), tlv(0x01, Buffer.from([0xff])), tlv(0x04, sequence(tlv(0x01, Buffer.from([0xff]))))),
        // digitalSignature, keyCertSign, cRLSign
        sequence(oid(OID.keyUsage), tlv(0x01, Buffer.from([0xff])), tlv(0x04, tlv(0x03, Buffer.from([0x01, 0x86])))),
      ),
    ),
  );
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const der = sequence(tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return certificatePem(der);
}

