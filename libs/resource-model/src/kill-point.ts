/**
 * The one fault hook for crash-recovery proofs. Code that can be killed mid-way calls
 * `killPoint.pass(name, count)` where a crash matters; production wiring passes `noKillPoint`, which
 * lets everything through and does nothing else. Only a test entry point or fixture arms a hook
 * (`armedKillPoint`), and nothing here reads the environment: whoever arms it says so explicitly
 * (the API's `main.ts` only with `TUGBOAT_TEST_HOOKS=1`, see services/api/README.md).
 */
export interface KillPoint {
  /** How many of `count` items may pass before the process dies here; never returns if none. */
  pass(point: string, count: number): number;
}

export const noKillPoint: KillPoint = { pass: (_point, count) => count };

export interface ArmedKillPointOptions {
  /** The one point that kills. */
  point: string;
  /** Items let through at that point, in total, before it kills. Default 0. */
  after?: number;
  /** How to die; a test passes a recorder. */
  kill: () => void;
}

/** Kills once the armed point has let `after` items through; other points pass everything. */
export function armedKillPoint(options: ArmedKillPointOptions): KillPoint {
  const allowance = options.after ?? 0;
  let passed = 0;
  return {
    pass(point, count) {
      if (point !== options.point || count === 0) return count;
      const left = Math.max(0, allowance - passed);
      if (left === 0) {
        options.kill();
        return 0;
      }
      const allowed = Math.min(left, count);
      passed += allowed;
      return allowed;
    },
  };
}

/**
 * A controller's kill point from its environment: `TUGBOAT_KILL_POINT` (one of `points`) and
 * `TUGBOAT_KILL_POINT_AFTER` (items let through first), armed only when `TUGBOAT_TEST_HOOKS=1` is
 * set as well; otherwise nothing is armed, and `ignored` says why when something was asked for.
 */
export function killPointFromEnv(
  env: Record<string, string | undefined>,
  points: readonly string[],
  kill: () => void = () => process.kill(process.pid, 'SIGKILL'),
): { killPoint: KillPoint; ignored?: string } {
  const point = env['TUGBOAT_KILL_POINT'];
  if (point === undefined || point === '') return { killPoint: noKillPoint };
  if (env['TUGBOAT_TEST_HOOKS'] !== '1') return { killPoint: noKillPoint, ignored: 'TUGBOAT_KILL_POINT is set but TUGBOAT_TEST_HOOKS is not 1' };
  if (!points.includes(point)) return { killPoint: noKillPoint, ignored: `TUGBOAT_KILL_POINT must be one of ${points.join(', ')}` };
  return { killPoint: armedKillPoint({ point, after: Number(env['TUGBOAT_KILL_POINT_AFTER'] ?? '0'), kill }) };
}
