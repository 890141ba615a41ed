/**
 * The few DER (X.690 distinguished encoding) constructors that the sandbox's hand-made X.509
 * certificates need: the EKS clusters' CA (`aws/eks/cluster-certificate-authority.ts`) and the TLS
 * credentials of the simulated API servers (`kube/tls-credentials.ts`). One copy, because DER has
 * rules that a parser enforces and that random input hits only now and then: OpenSSL refuses an
 * INTEGER with a redundant leading zero byte ("illegal padding"), so a random serial starting with
 * 0x00 broke one certificate in ~256.
 */

/** A DER length: short form below 128, else long form with the fewest bytes. */
export function derLength(size: number): Buffer {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`DER length must be a non-negative integer, got ${size}`);
  if (size < 0x80) return Buffer.from([size]);
  const bytes: number[] = [];
  for (let rest = size; rest > 0; rest = Math.floor(rest / 0x100)) bytes.unshift(rest % 0x100);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Tag, length, value. */
export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

export const sequence = (...content: Buffer[]): Buffer => tlv(0x30, ...content);
export const set = (...content: Buffer[]): Buffer => tlv(0x31, ...content);

/**
 * A non-negative INTEGER from big-endian magnitude bytes (random bytes as they come): DER wants the
 * shortest two's-complement form, so leading zero bytes go, and one zero byte comes back only when
 * the first remaining byte has its high bit set (else the value would read as negative).
 */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const minimal = magnitude.subarray(start);
  if (minimal.length === 0) return tlv(0x02, Buffer.from([0]));
  return tlv(0x02, (minimal[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
}

/** An OBJECT IDENTIFIER from its dotted form. */
export function objectIdentifier(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [first * 40 + second];
  for (const part of rest) {
    const chunk = [part & 0x7f];
    for (let value = part >> 7; value > 0; value >>= 7) chunk.unshift((value & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** An X.509 validity time: RFC 5280 wants UTCTime (two-digit year) through 2049, GeneralizedTime from 2050. */
export function x509Time(date: Date): Buffer {
  const digits = date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii')) : tlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}

/** PEM of a DER certificate: base64 in lines of 64 characters (RFC 7468). */
export function certificatePem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
