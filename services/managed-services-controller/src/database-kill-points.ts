/**
 * The DatabaseInstance reconciler's kill points, for crash-recovery tests (the hook is `KillPoint` in
 * `@tugboat/resource-model`). Each sits right after an AWS create or delete call and before
 * anything (status) records it:
 *
 *   db.after-create-subnet-group, db.after-create-security-group, db.after-create-instance,
 *   db.after-rotate-password, db.after-create-parameter-group,
 *   db.after-delete-instance, db.after-delete-parameter-group, db.after-delete-subnet-group, db.after-delete-security-group
 *
 * `main.ts` arms one from `TUGBOAT_KILL_POINT` / `TUGBOAT_KILL_POINT_AFTER` only when
 * `TUGBOAT_TEST_HOOKS=1` is set as well, as the other controllers do.
 */
import { killPointFromEnv, type KillPoint } from '@tugboat/resource-model';

export const DATABASE_KILL_POINTS = [
  'db.after-create-subnet-group',
  'db.after-create-security-group',
  'db.after-create-instance',
  'db.after-rotate-password',
  'db.after-create-parameter-group',
  'db.after-delete-instance',
  'db.after-delete-parameter-group',
  'db.after-delete-subnet-group',
  'db.after-delete-security-group',
] as const;
export type DatabaseKillPointName = (typeof DATABASE_KILL_POINTS)[number];

export function databaseKillPointFromEnv(
  env: Record<string, string | undefined>,
  kill?: () => void,
): { killPoint: KillPoint; ignored?: string } {
  return killPointFromEnv(env, DATABASE_KILL_POINTS, kill);
}
