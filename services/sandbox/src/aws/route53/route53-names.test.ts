import { DnsNameError, isWithinZone, normalizeDnsName, reversedNameKey } from './route53-names.js';

describe('Route 53 names', () => {
  it('lower-cases, qualifies and escapes names as Route 53 answers them', () => {
    expect(normalizeDnsName('WWW.Example.com')).toBe('www.example.com.');
    expect(normalizeDnsName('*.example.com.')).toBe('\\052.example.com.');
    expect(normalizeDnsName('\\052.example.com')).toBe('\\052.example.com.');
    expect(normalizeDnsName('_acme-challenge.a_b.example.com')).toBe('_acme-challenge.a_b.example.com.');
    expect(() => normalizeDnsName('a..example.com')).toThrow(DnsNameError);
    expect(() => normalizeDnsName(`${'x'.repeat(64)}.example.com`)).toThrow(DnsNameError);
  });

  it('orders by the reversed labels as one string, and knows what lies in a zone', () => {
    const names = ['a.example.com.', 'a-b.example.com.', 'example.com.', 'b.example.com.', 'z.a.example.com.'];
    expect([...names].sort((x, y) => (reversedNameKey(x) < reversedNameKey(y) ? -1 : 1))).toEqual([
      'example.com.',
      'a-b.example.com.',
      'a.example.com.',
      'z.a.example.com.',
      'b.example.com.',
    ]);
    expect(isWithinZone('www.example.com.', 'example.com.')).toBe(true);
    expect(isWithinZone('example.com.', 'example.com.')).toBe(true);
    expect(isWithinZone('badexample.com.', 'example.com.')).toBe(false);
  });
});
