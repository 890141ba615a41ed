/** Names of objects and projects follow the DNS-label rule (RFC 1123), as Kubernetes names do. */
export const DNS_LABEL_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function isDnsLabel(value: unknown): value is string {
  return typeof value === 'string' && DNS_LABEL_PATTERN.test(value);
}
