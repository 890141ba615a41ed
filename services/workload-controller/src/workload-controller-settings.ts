import { InputError } from '@tugboat/resource-model';

export interface WorkloadControllerSettings {
  /** Instances reconciled at once by one replica. */
  concurrency: number;
  /** How soon an instance whose objects are still rolling out is looked at again. */
  progressingRequeueMs: number;
  /** How soon a Degraded instance (failing pods, unreachable cluster, refused object) is tried again. */
  degradedRetryMs: number;
  /** Fallback look at an instance waiting for its cluster (a ClusterInstance change wakes it first). */
  clusterWaitMs: number;
  /** Every instance is looked at this often, so drift (an object deleted or edited by hand) is repaired. */
  resyncEveryMs: number;
  /** Within this long after an apply, unchanged objects are read rather than applied again: half the resync, so each resync re-applies. */
  reapplyEveryMs: number;
  /** Per request to a cluster. */
  requestTimeoutMs: number;
}

/**
 * The workload-controller's own settings, beside the SDK's shared ones: `WORKLOAD_CONCURRENCY` (8
 * reconciles at once in the process, both kinds together),
 * `WORKLOAD_PROGRESS_REQUEUE_MS` (2000), `WORKLOAD_DEGRADED_RETRY_MS` (5000),
 * `WORKLOAD_CLUSTER_WAIT_MS` (30000), `WORKLOAD_RESYNC_MS` (300000; unchanged objects are applied again
 * at most every half of it, read in between), `KUBE_REQUEST_TIMEOUT_MS` (15000).
 */
export function workloadControllerSettings(env: Record<string, string | undefined>): WorkloadControllerSettings {
  const read = (name: string, fallback: number, minimum: number, unit: string): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < minimum) {
      throw new InputError(`${name} must be a whole number${unit} >= ${minimum}, got ${JSON.stringify(raw)}`, { details: [{ path: name, rule: 'minimum' }] });
    }
    return value;
  };
  const ms = (name: string, fallback: number, minimum = 100) => read(name, fallback, minimum, ' of milliseconds');
  const resyncEveryMs = ms('WORKLOAD_RESYNC_MS', 300_000, 1_000);
  return {
    concurrency: read('WORKLOAD_CONCURRENCY', 8, 1, ''),
    progressingRequeueMs: ms('WORKLOAD_PROGRESS_REQUEUE_MS', 2_000),
    degradedRetryMs: ms('WORKLOAD_DEGRADED_RETRY_MS', 5_000),
    clusterWaitMs: ms('WORKLOAD_CLUSTER_WAIT_MS', 30_000),
    // The SDK refuses a resync under one second.
    resyncEveryMs,
    reapplyEveryMs: Math.floor(resyncEveryMs / 2),
    requestTimeoutMs: ms('KUBE_REQUEST_TIMEOUT_MS', 15_000),
  };
}
