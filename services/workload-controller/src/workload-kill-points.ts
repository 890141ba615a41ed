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
import { armedKillPoint, noKillPoint, type KillPoint } from '@tugboat/resource-model';

export const WORKLOAD_KILL_POINTS = ['workload-after-apply', 'workload-mid-prune', 'workload-mid-delete'] as const;
export type WorkloadKillPointName = (typeof WORKLOAD_KILL_POINTS)[number];

export function workloadKillPointFromEnv(
  env: Record<string, string | undefined>,
  kill: () => void = () => process.kill(process.pid, 'SIGKILL'),
): { killPoint: KillPoint; ignored?: string } {
  const point = env['TUGBOAT_KILL_POINT'];
  if (point === undefined || point === '') return { killPoint: noKillPoint };
  if (env['TUGBOAT_TEST_HOOKS'] !== '1') return { killPoint: noKillPoint, ignored: 'TUGBOAT_KILL_POINT is set but TUGBOAT_TEST_HOOKS is not 1' };
  if (!(WORKLOAD_KILL_POINTS as readonly string[]).includes(point)) {
    return { killPoint: noKillPoint, ignored: `TUGBOAT_KILL_POINT must be one of ${WORKLOAD_KILL_POINTS.join(', ')}` };
  }
  return { killPoint: armedKillPoint({ point, after: Number(env['TUGBOAT_KILL_POINT_AFTER'] ?? '0'), kill }) };
}
