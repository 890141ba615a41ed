/** IPv4 CIDR blocks as EC2 checks them: a network address with no host bits set, and containment/overlap. */
export interface Ipv4Cidr {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

/** `undefined` when `text` is not `a.b.c.d/n` with the host bits of `a.b.c.d` all zero. */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!match) return undefined;
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((octet) => octet > 255) || prefix > 32) return undefined;
  const base = octets.reduce((sum, octet) => sum * 256 + octet, 0);
  if (base % 2 ** (32 - prefix) !== 0) return undefined;
  return { base, prefix };
}

function sizeOf(cidr: Ipv4Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

export function cidrContains(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
  return inner.prefix >= outer.prefix && inner.base >= outer.base && inner.base + sizeOf(inner) <= outer.base + sizeOf(outer);
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.base < b.base + sizeOf(b) && b.base < a.base + sizeOf(a);
}

/** Addresses a subnet offers instances: AWS reserves the first four and the last one. */
export function usableAddresses(cidr: Ipv4Cidr): number {
  return sizeOf(cidr) - 5;
}
