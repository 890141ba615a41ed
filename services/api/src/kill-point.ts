/**
 * Test-only fault hook for crash-recovery proofs: with `TUGBOAT_KILL_POINT` set, the process
 * SIGKILLs itself at that point, once per process start, after `TUGBOAT_KILL_POINT_AFTER` (default
 * 0) rows (relay) or commits (write path) have gone through.
 *
 *   relay-before-publish   after the relay read committed outbox rows, before it publishes them
 *   after-commit           after a resource transaction committed, before the HTTP answer
 */
export type KillPointName = 'relay-before-publish' | 'after-commit';

export interface KillPoint {
  /** How many of `count` items may pass before the process dies here; never returns if none. */
  pass(point: KillPointName, count: number): number;
}

export const noKillPoint: KillPoint = { pass: (_point, count) => count };

export function killPointFromEnv(env: NodeJS.ProcessEnv, kill: () => void = () => process.kill(process.pid, 'SIGKILL')): KillPoint {
  const armed = env['TUGBOAT_KILL_POINT'] as KillPointName | undefined;
  if (armed !== 'relay-before-publish' && armed !== 'after-commit') return noKillPoint;
  const allowance = Number(env['TUGBOAT_KILL_POINT_AFTER'] ?? '0');
  let passed = 0;
  return {
    pass(point, count) {
      if (point !== armed || count === 0) return count;
      const left = Math.max(0, allowance - passed);
      if (left === 0) {
        kill();
        return 0;
      }
      const allowed = Math.min(left, count);
      passed += allowed;
      return allowed;
    },
  };
}
