import { isErrorCode } from '@tugboat/resource-model';
import { clusterControllerSettings } from './cluster-controller-settings.js';

describe('clusterControllerSettings', () => {
  it('defaults to a 30 s health check, 5 s retry when degraded and 15 s per cluster request', () => {
    expect(clusterControllerSettings({})).toEqual({ healthCheckEveryMs: 30_000, degradedRetryMs: 5_000, waitingRetryMs: 30_000, requestTimeoutMs: 15_000 });
    expect(clusterControllerSettings({ CLUSTER_HEALTH_CHECK_MS: '1000', CLUSTER_DEGRADED_RETRY_MS: '' }).healthCheckEveryMs).toBe(1_000);
  });

  it('refuses a value that is not whole milliseconds >= 100, naming the variable', () => {
    for (const bad of ['soon', '50', '1.5']) {
      let caught: unknown;
      try {
        clusterControllerSettings({ CLUSTER_DEGRADED_RETRY_MS: bad });
      } catch (error) {
        caught = error;
      }
      expect(isErrorCode(caught, 'InvalidInput')).toBe(true);
      expect((caught as Error).message).toContain('CLUSTER_DEGRADED_RETRY_MS');
    }
  });
});
