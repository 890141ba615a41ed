/**
 * What Route 53 accepts as the values of a plain (non-alias) record set, by type. A value it
 * refuses becomes one `Invalid Resource Record: 'FATAL problem: …'` line of an `InvalidChangeBatch`.
 */
import { isIPv6 } from 'node:net';
import { decodedLabels, DnsNameError } from './route53-names.js';

export const RECORD_TYPES = ['A', 'AAAA', 'CAA', 'CNAME', 'DS', 'HTTPS', 'MX', 'NAPTR', 'NS', 'PTR', 'SOA', 'SPF', 'SRV', 'SSHFP', 'SVCB', 'TLSA', 'TXT'] as const;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** One or more quoted character strings; inside, `\"` and `\\` are escapes. */
const CHARACTER_STRINGS = /^\s*("(?:[^"\\]|\\.)*"\s*)+$/;
const CHARACTER_STRING = /"((?:[^"\\]|\\.)*)"/g;
const MAX_CHARACTER_STRING = 255;

function invalid(value: string, problem: string, explanation: string): string {
  return `Invalid Resource Record: 'FATAL problem: ${problem} (${explanation}) encountered with '${value}''`;
}

function isDomainName(value: string): boolean {
  try {
    decodedLabels(value);
    return true;
  } catch (error) {
    if (error instanceof DnsNameError) return false;
    throw error;
  }
}

function unsigned(text: string | undefined, max: number): boolean {
  return text !== undefined && /^\d+$/.test(text) && Number(text) <= max;
}

/** The problems with one value of a record of `type`; empty when it is fine. */
export function recordValueProblems(type: string, value: string): string[] {
  const fields = value.trim().split(/\s+/);
  switch (type) {
    case 'A':
      return IPV4.test(value) ? [] : [invalid(value, 'ARRDATAIllegalIPv4Address', 'Value is not a valid IPv4 address')];
    case 'AAAA':
      return isIPv6(value) ? [] : [invalid(value, 'AAAARRDATAIllegalIPv6Address', 'Value is not a valid IPv6 address')];
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return isDomainName(value) ? [] : [invalid(value, 'DomainLabelEmpty', 'Domain label is empty')];
    case 'MX':
      return fields.length === 2 && unsigned(fields[0], 65_535) && isDomainName(fields[1] as string)
        ? []
        : [invalid(value, 'MXRRDATANotTwoFields', 'MX record must contain a priority and a domain name')];
    case 'SRV':
      return fields.length === 4 && fields.slice(0, 3).every((f) => unsigned(f, 65_535)) && isDomainName(fields[3] as string)
        ? []
        : [invalid(value, 'SRVRRDATANotFourFields', 'SRV record must contain priority, weight, port and a domain name')];
    case 'SOA':
      return fields.length === 7 && isDomainName(fields[0] as string) && isDomainName(fields[1] as string) && fields.slice(2).every((f) => unsigned(f, 4_294_967_295))
        ? []
        : [invalid(value, 'SOARRDATANotSevenFields', 'SOA record must contain seven fields')];
    case 'TXT':
    case 'SPF': {
      if (!CHARACTER_STRINGS.test(value)) return [invalid(value, 'InvalidCharacterString', 'Value should be enclosed in quotation marks')];
      const tooLong = [...value.matchAll(CHARACTER_STRING)].some((m) => (m[1] as string).replace(/\\(.)/g, '$1').length > MAX_CHARACTER_STRING);
      return tooLong ? [invalid(value, 'CharacterStringTooLong', 'Value is too long')] : [];
    }
    default:
      return value.trim() === '' ? [invalid(value, 'EmptyValue', 'Value is empty')] : [];
  }
}
