import { X509Certificate, generateKeyPairSync, sign } from 'node:crypto';
import { certificatePem, derLength, objectIdentifier, sequence, set, tlv, unsignedInteger, x509Time } from './der-writer.js';

const hex = (buffer: Buffer) => buffer.toString('hex');

describe('DER writer', () => {
  it('writes lengths in short form below 128 and in the shortest long form above', () => {
    expect(hex(derLength(0))).toBe('00');
    expect(hex(derLength(127))).toBe('7f');
    expect(hex(derLength(128))).toBe('8180');
    expect(hex(derLength(255))).toBe('81ff');
    expect(hex(derLength(256))).toBe('820100');
    expect(hex(derLength(65_535))).toBe('82ffff');
    expect(hex(derLength(65_536))).toBe('83010000');
    expect(() => derLength(-1)).toThrow(RangeError);
  });

  it('writes unsigned integers in the shortest form: no redundant zero byte, one before a high bit', () => {
    expect(hex(unsignedInteger(Buffer.from([0x02])))).toBe('020102');
    expect(hex(unsignedInteger(Buffer.from([0x7f, 0xff])))).toBe('02027fff');
    expect(hex(unsignedInteger(Buffer.from([0x80, 0x01])))).toBe('0203008001');
    // The bytes that broke one random serial in ~256: a leading zero byte before a byte below 0x80.
    expect(hex(unsignedInteger(Buffer.from([0x00, 0x01, 0x02])))).toBe('02020102');
    expect(hex(unsignedInteger(Buffer.from([0x00, 0x00, 0x80])))).toBe('02020080');
    expect(hex(unsignedInteger(Buffer.from([0x00, 0x00])))).toBe('020100');
    expect(hex(unsignedInteger(Buffer.alloc(0)))).toBe('020100');
  });

  it('writes object identifiers with base-128 arcs', () => {
    expect(hex(objectIdentifier('1.2.840.10045.4.3.2'))).toBe('06082a8648ce3d040302');
    expect(hex(objectIdentifier('2.5.29.19'))).toBe('0603551d13');
  });

  it('writes UTCTime through 2049 and GeneralizedTime from 2050', () => {
    expect(x509Time(new Date(Date.UTC(2049, 11, 31, 23, 59, 59))).toString('latin1')).toBe('\x17\x0d491231235959Z');
    expect(x509Time(new Date(Date.UTC(2050, 0, 1))).toString('latin1')).toBe('\x18\x0f20500101000000Z');
  });

  // OpenSSL is the judge: every serial pattern that touches the zero-byte and high-bit rules, and
  // every first byte, must give a certificate that parses and carries the serial's value.
  it('makes certificates that OpenSSL parses for every leading serial byte', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const algorithm = sequence(objectIdentifier('1.2.840.10045.4.3.2'));
    const name = sequence(set(sequence(objectIdentifier('2.5.4.3'), tlv(0x0c, Buffer.from('der-writer')))));
    const now = Date.UTC(2026, 10, 26);
    const serials = [
      ...Array.from({ length: 256 }, (_, first) => Buffer.from([first, 0x01, 0x02, 0x03])),
      Buffer.from([0x00, 0x00, 0x00, 0x7f]),
      Buffer.from([0x00, 0x00, 0x80, 0x00]),
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
    ];
    for (const serial of serials) {
      const tbs = sequence(
        tlv(0xa0, unsignedInteger(Buffer.from([2]))),
        unsignedInteger(serial),
        algorithm,
        name,
        sequence(x509Time(new Date(now)), x509Time(new Date(now + 3600_000))),
        name,
        publicKey.export({ type: 'spki', format: 'der' }),
      );
      const der = sequence(tbs, algorithm, tlv(0x03, Buffer.from([0]), sign('sha256', tbs, privateKey)));
      const certificate = new X509Certificate(certificatePem(der));
      expect(BigInt(`0x${certificate.serialNumber}`)).toBe(BigInt(`0x${hex(serial)}`));
      expect(certificate.verify(publicKey)).toBe(true);
    }
  });

  it('wraps PEM base64 at 64 characters', () => {
    const lines = certificatePem(Buffer.alloc(100, 0xab)).trimEnd().split('\n');
    expect(lines[0]).toBe('-----BEGIN CERTIFICATE-----');
    expect(lines.at(-1)).toBe('-----END CERTIFICATE-----');
    expect(lines.slice(1, -1).map((line) => line.length)).toEqual([64, 64, 8]);
  });
});
