/**
 * The API's kill points (the hook itself is `KillPoint` in `@tugboat/resource-model`):
 *
 *   relay-before-publish   after the relay read committed outbox rows, before it publishes them
 *   after-commit           after a resource transaction committed, before the HTTP answer
 *
 * `main.ts` arms one from the environment only when `TUGBOAT_TEST_HOOKS=1` is set as well: a stray
 * `TUGBOAT_KILL_POINT` in a production environment arms nothing (it is reported, see `main.ts`).
 */
import { armedKillPoint, noKillPoint, type KillPoint } from '@tugboat/resource-model';

export type { KillPoint } from '@tugboat/resource-model';
export { noKillPoint } from '@tugboat/resource-model';

export const API_KILL_POINTS = ['relay-before-publish', 'after-commit'] as const;
export type ApiKillPointName = (typeof API_KILL_POINTS)[number];

export interface TestKillPointResult {
  killPoint: KillPoint;
  /** Set when kill-point variables were given but not armed, and why. */
  ignored?: string;
}

/**
 * `TUGBOAT_KILL_POINT` (one of `API_KILL_POINTS`) and `TUGBOAT_KILL_POINT_AFTER` (items let through
 * first, default 0), armed only with `TUGBOAT_TEST_HOOKS=1`.
 */
export function testKillPointFromEnv(env: NodeJS.ProcessEnv, kill: () => void = () => process.kill(process.pid, 'SIGKILL')): TestKillPointResult {
  const point = env['TUGBOAT_KILL_POINT'];
  if (point === undefined || point === '') return { killPoint: noKillPoint };
  if (env['TUGBOAT_TEST_HOOKS'] !== '1') return { killPoint: noKillPoint, ignored: 'TUGBOAT_KILL_POINT is set but TUGBOAT_TEST_HOOKS is not 1' };
  if (!(API_KILL_POINTS as readonly string[]).includes(point)) return { killPoint: noKillPoint, ignored: `TUGBOAT_KILL_POINT must be one of ${API_KILL_POINTS.join(', ')}` };
  return { killPoint: armedKillPoint({ point, after: Number(env['TUGBOAT_KILL_POINT_AFTER'] ?? '0'), kill }) };
}
