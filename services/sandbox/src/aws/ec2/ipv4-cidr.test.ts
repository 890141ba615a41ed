import { cidrContains, cidrsOverlap, parseIpv4Cidr, usableAddresses } from './ipv4-cidr.js';

const cidr = (text: string) => {
  const parsed = parseIpv4Cidr(text);
  if (parsed === undefined) throw new Error(`not a CIDR: ${text}`);
  return parsed;
};

describe('IPv4 CIDR blocks', () => {
  it('accepts network addresses only', () => {
    expect(parseIpv4Cidr('10.0.0.0/16')).toEqual({ base: 10 * 2 ** 24, prefix: 16 });
    expect(parseIpv4Cidr('0.0.0.0/0')).toEqual({ base: 0, prefix: 0 });
    for (const bad of ['10.0.0.1/16', '10.0.0.0/33', '256.0.0.0/8', '10.0.0/16', '10.0.0.0', ' 10.0.0.0/16', '10.0.0.0/016x']) {
      expect(parseIpv4Cidr(bad)).toBeUndefined();
    }
  });

  it('tells containment and overlap', () => {
    expect(cidrContains(cidr('10.0.0.0/16'), cidr('10.0.255.0/24'))).toBe(true);
    expect(cidrContains(cidr('10.0.0.0/16'), cidr('10.1.0.0/24'))).toBe(false);
    expect(cidrContains(cidr('10.0.0.0/16'), cidr('10.0.0.0/15'))).toBe(false);
    expect(cidrsOverlap(cidr('10.0.0.0/24'), cidr('10.0.0.128/25'))).toBe(true);
    expect(cidrsOverlap(cidr('10.0.0.0/25'), cidr('10.0.0.128/25'))).toBe(false);
    expect(usableAddresses(cidr('10.0.0.0/24'))).toBe(251);
  });
});
