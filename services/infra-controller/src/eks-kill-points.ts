/**
 * The EksCluster reconciler's kill points, for crash-recovery tests (the hook is `KillPoint` in
 * `@tugboat/resource-model`). Each sits right after an AWS create or delete call and before
 * anything (status, inventory) records it:
 *
 *   eks.after-create-vpc, eks.after-create-internet-gateway, eks.after-create-subnet,
 *   eks.after-create-route-table, eks.after-create-elastic-ip, eks.after-create-nat-gateway,
 *   eks.after-create-role, eks.after-create-cluster, eks.after-create-nodegroup,
 *   eks.after-delete-nodegroup, eks.after-delete-cluster, eks.after-delete-role,
 *   eks.after-delete-nat-gateway, eks.after-delete-subnet, eks.after-delete-vpc
 *
 * `main.ts` arms one from `TUGBOAT_KILL_POINT` / `TUGBOAT_KILL_POINT_AFTER` only when
 * `TUGBOAT_TEST_HOOKS=1` is set as well, as the API and the workload-controller do.
 */
import { killPointFromEnv, type KillPoint } from '@tugboat/resource-model';

export const EKS_KILL_POINTS = [
  'eks.after-create-vpc',
  'eks.after-create-internet-gateway',
  'eks.after-create-subnet',
  'eks.after-create-route-table',
  'eks.after-create-elastic-ip',
  'eks.after-create-nat-gateway',
  'eks.after-create-role',
  'eks.after-create-cluster',
  'eks.after-create-nodegroup',
  'eks.after-delete-nodegroup',
  'eks.after-delete-cluster',
  'eks.after-delete-role',
  'eks.after-delete-nat-gateway',
  'eks.after-delete-subnet',
  'eks.after-delete-vpc',
] as const;
export type EksKillPointName = (typeof EKS_KILL_POINTS)[number];

export function eksKillPointFromEnv(
  env: Record<string, string | undefined>,
  kill?: () => void,
): { killPoint: KillPoint; ignored?: string } {
  return killPointFromEnv(env, EKS_KILL_POINTS, kill);
}
