/**
 * The workload-controller's kill points, for crash-recovery tests (the hook is `KillPoint` in
 * `@tugboat/resource-model`):
 *
 *   workload-after-apply   every desired object applied, before pruning and before the status write
 *   workload-mid-prune     before deleting each object that left the desired set (`after` = how many go first)
 *   workload-mid-delete    during finalize, before deleting each inventory object
 *
 * `main.ts` arms one from `TUGBOAT_KILL_POINT` / `TUGBOAT_KILL_POINT_AFTER` only when
 * `TUGBOAT_TEST_HOOKS=1` is set as well, as the API does; otherwise nothing is armed.
 */
import { killPointFromEnv, type KillPoint } from '@tugboat/resource-model';

export const WORKLOAD_KILL_POINTS = ['workload-after-apply', 'workload-mid-prune', 'workload-mid-delete'] as const;
export type WorkloadKillPointName = (typeof WORKLOAD_KILL_POINTS)[number];

export function workloadKillPointFromEnv(
  env: Record<string, string | undefined>,
  kill?: () => void,
): { killPoint: KillPoint; ignored?: string } {
  return killPointFromEnv(env, WORKLOAD_KILL_POINTS, kill);
}
