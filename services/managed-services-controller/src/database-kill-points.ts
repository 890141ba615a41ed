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
import { armedKillPoint, noKillPoint, type KillPoint } from '@tugboat/resource-model';

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
  kill: () => void = () => process.kill(process.pid, 'SIGKILL'),
): { killPoint: KillPoint; ignored?: string } {
  const point = env['TUGBOAT_KILL_POINT'];
  if (point === undefined || point === '') return { killPoint: noKillPoint };
  if (env['TUGBOAT_TEST_HOOKS'] !== '1') return { killPoint: noKillPoint, ignored: 'TUGBOAT_KILL_POINT is set but TUGBOAT_TEST_HOOKS is not 1' };
  if (!(DATABASE_KILL_POINTS as readonly string[]).includes(point)) {
    return { killPoint: noKillPoint, ignored: `TUGBOAT_KILL_POINT must be one of ${DATABASE_KILL_POINTS.join(', ')}` };
  }
  return { killPoint: armedKillPoint({ point, after: Number(env['TUGBOAT_KILL_POINT_AFTER'] ?? '0'), kill }) };
}
