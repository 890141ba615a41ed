import { millisecondsSetting } from '@tugboat/controller-sdk';

export interface InfraControllerSettings {
  recheckEveryMs: number;
  retryMs: number;
  requestTimeoutMs: number;
  pollMs: number;
}

/**
 * The infra-controller's own settings, beside the SDK's shared ones: `ACCOUNT_RECHECK_MS` (600000),
 * `AWS_RETRY_MS` (5000), `AWS_REQUEST_TIMEOUT_MS` (15000), `EKS_POLL_MS` (15000).
 */
export function infraControllerSettings(env: Record<string, string | undefined>): InfraControllerSettings {
  const read = (name: string, fallback: number): number => millisecondsSetting(env, name, fallback);
  return {
    recheckEveryMs: read('ACCOUNT_RECHECK_MS', 600_000),
    retryMs: read('AWS_RETRY_MS', 5_000),
    requestTimeoutMs: read('AWS_REQUEST_TIMEOUT_MS', 15_000),
    pollMs: read('EKS_POLL_MS', 15_000),
  };
}
