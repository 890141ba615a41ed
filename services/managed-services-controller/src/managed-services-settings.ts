import { millisecondsSetting } from '@tugboat/controller-sdk';

export interface ManagedServicesSettings {
  retryMs: number;
  requestTimeoutMs: number;
  pollMs: number;
}

/** Beside the SDK's shared settings: `AWS_RETRY_MS` (5000), `AWS_REQUEST_TIMEOUT_MS` (15000), `DB_POLL_MS` (15000). */
export function managedServicesSettings(env: Record<string, string | undefined>): ManagedServicesSettings {
  const read = (name: string, fallback: number): number => millisecondsSetting(env, name, fallback);
  return {
    retryMs: read('AWS_RETRY_MS', 5_000),
    requestTimeoutMs: read('AWS_REQUEST_TIMEOUT_MS', 15_000),
    pollMs: read('DB_POLL_MS', 15_000),
  };
}
