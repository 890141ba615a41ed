import { millisecondsSetting } from '@tugboat/controller-sdk';

export interface SupportServicesSettings {
  retryMs: number;
  requestTimeoutMs: number;
  progressMs: number;
  waitMs: number;
  readyRecheckMs: number;
  dnsPollMs: number;
  dnsWaitMs: number;
  installation: string;
}

/**
 * Beside the SDK's shared settings and the Helm settings (`@tugboat/helm`): `AWS_RETRY_MS` (5000),
 * `AWS_REQUEST_TIMEOUT_MS` (15000), `EXPOSURE_PROGRESS_MS` (3000), `EXPOSURE_WAIT_MS` (30000),
 * `EXPOSURE_RECHECK_MS` (60000: how often a Ready exposure checks its load balancer and records),
 * `DNS_POLL_MS` (2000), `DNS_WAIT_MS` (20000), `TUGBOAT_INSTALLATION` (`tugboat`: names this
 * installation in the owner records it writes).
 */
export function supportServicesSettings(env: Record<string, string | undefined>): SupportServicesSettings {
  const read = (name: string, fallback: number): number => millisecondsSetting(env, name, fallback);
  const installation = env['TUGBOAT_INSTALLATION'] ?? 'tugboat';
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(installation)) throw new Error(`TUGBOAT_INSTALLATION must be a DNS label (it is written into TXT records); got "${installation}"`);
  return {
    retryMs: read('AWS_RETRY_MS', 5_000),
    requestTimeoutMs: read('AWS_REQUEST_TIMEOUT_MS', 15_000),
    progressMs: read('EXPOSURE_PROGRESS_MS', 3_000),
    waitMs: read('EXPOSURE_WAIT_MS', 30_000),
    readyRecheckMs: read('EXPOSURE_RECHECK_MS', 60_000),
    dnsPollMs: read('DNS_POLL_MS', 2_000),
    dnsWaitMs: read('DNS_WAIT_MS', 20_000),
    installation,
  };
}
