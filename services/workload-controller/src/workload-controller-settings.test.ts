import { isErrorCode } from '@tugboat/resource-model';
import { workloadControllerSettings } from './workload-controller-settings.js';

describe('workloadControllerSettings', () => {
  it('has defaults and reads each variable', () => {
    expect(workloadControllerSettings({})).toEqual({
      concurrency: 8,
      progressingRequeueMs: 2_000,
      degradedRetryMs: 5_000,
      clusterWaitMs: 30_000,
      resyncEveryMs: 300_000,
      reapplyEveryMs: 150_000,
      requestTimeoutMs: 15_000,
    });
    const set = workloadControllerSettings({ WORKLOAD_CONCURRENCY: '2', WORKLOAD_RESYNC_MS: '1000', WORKLOAD_PROGRESS_REQUEUE_MS: '' });
    expect(set).toMatchObject({ concurrency: 2, resyncEveryMs: 1_000, reapplyEveryMs: 500, progressingRequeueMs: 2_000 });
  });

  it('refuses a value out of range, naming the variable', () => {
    for (const [name, bad] of [
      ['WORKLOAD_CONCURRENCY', '0'],
      ['WORKLOAD_RESYNC_MS', '999'],
      ['WORKLOAD_DEGRADED_RETRY_MS', 'soon'],
      ['KUBE_REQUEST_TIMEOUT_MS', '1.5'],
    ] as const) {
      let caught: unknown;
      try {
        workloadControllerSettings({ [name]: bad });
      } catch (error) {
        caught = error;
      }
      expect(isErrorCode(caught, 'InvalidInput')).toBe(true);
      expect((caught as Error).message).toContain(name);
    }
  });
});
