import { InputError } from '@tugboat/resource-model';

export interface InfraControllerSettings {
  recheckEveryMs: number;
  retryMs: number;
  requestTimeoutMs: number;
}

/**
 * The infra-controller's own settings, beside the SDK's shared ones: `ACCOUNT_RECHECK_MS` (600000),
 * `AWS_RETRY_MS` (5000), `AWS_REQUEST_TIMEOUT_MS` (15000).
 */
export function infraControllerSettings(env: Record<string, string | undefined>): InfraControllerSettings {
  const read = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 100) {
      throw new InputError(`${name} must be a whole number of milliseconds >= 100, got ${JSON.stringify(raw)}`, { details: [{ path: name, rule: 'minimum' }] });
    }
    return value;
  };
  return {
    recheckEveryMs: read('ACCOUNT_RECHECK_MS', 600_000),
    retryMs: read('AWS_RETRY_MS', 5_000),
    requestTimeoutMs: read('AWS_REQUEST_TIMEOUT_MS', 15_000),
  };
}
