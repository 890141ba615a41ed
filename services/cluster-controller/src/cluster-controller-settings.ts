import { InputError } from '@tugboat/resource-model';

export interface ClusterControllerSettings {
  healthCheckEveryMs: number;
  degradedRetryMs: number;
  requestTimeoutMs: number;
}

/**
 * The cluster-controller's own settings, beside the SDK's shared ones:
 * `CLUSTER_HEALTH_CHECK_MS` (30000), `CLUSTER_DEGRADED_RETRY_MS` (5000), `KUBE_REQUEST_TIMEOUT_MS` (15000).
 */
export function clusterControllerSettings(env: Record<string, string | undefined>): ClusterControllerSettings {
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
    healthCheckEveryMs: read('CLUSTER_HEALTH_CHECK_MS', 30_000),
    degradedRetryMs: read('CLUSTER_DEGRADED_RETRY_MS', 5_000),
    requestTimeoutMs: read('KUBE_REQUEST_TIMEOUT_MS', 15_000),
  };
}
