import { millisecondsSetting } from '@tugboat/controller-sdk';

export interface ClusterControllerSettings {
  healthCheckEveryMs: number;
  degradedRetryMs: number;
  waitingRetryMs: number;
  requestTimeoutMs: number;
}

/**
 * The cluster-controller's own settings, beside the SDK's shared ones:
 * `CLUSTER_HEALTH_CHECK_MS` (30000), `CLUSTER_DEGRADED_RETRY_MS` (5000), `CLUSTER_WAITING_RETRY_MS`
 * (30000: how often an eks cluster looks at its EksCluster besides being woken by it), `KUBE_REQUEST_TIMEOUT_MS` (15000).
 */
export function clusterControllerSettings(env: Record<string, string | undefined>): ClusterControllerSettings {
  const read = (name: string, fallback: number): number => millisecondsSetting(env, name, fallback);
  return {
    healthCheckEveryMs: read('CLUSTER_HEALTH_CHECK_MS', 30_000),
    degradedRetryMs: read('CLUSTER_DEGRADED_RETRY_MS', 5_000),
    waitingRetryMs: read('CLUSTER_WAITING_RETRY_MS', 30_000),
    requestTimeoutMs: read('KUBE_REQUEST_TIMEOUT_MS', 15_000),
  };
}
