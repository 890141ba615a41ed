import { workloadKillPointFromEnv } from './workload-kill-points.js';

describe('workloadKillPointFromEnv', () => {
  it('arms a named point only with TUGBOAT_TEST_HOOKS=1, letting the given number through first', () => {
    const kills: string[] = [];
    const { killPoint, ignored } = workloadKillPointFromEnv({ TUGBOAT_KILL_POINT: 'workload-mid-prune', TUGBOAT_KILL_POINT_AFTER: '1', TUGBOAT_TEST_HOOKS: '1' }, () => kills.push('kill'));
    expect(ignored).toBeUndefined();
    expect(killPoint.pass('workload-after-apply', 1)).toBe(1);
    expect(killPoint.pass('workload-mid-prune', 1)).toBe(1);
    expect(kills).toEqual([]);
    expect(killPoint.pass('workload-mid-prune', 1)).toBe(0);
    expect(kills).toEqual(['kill']);
  });

  it('arms nothing without the test hooks flag or for an unknown point, and says why', () => {
    const kill = () => {
      throw new Error('must not kill');
    };
    const unflagged = workloadKillPointFromEnv({ TUGBOAT_KILL_POINT: 'workload-after-apply' }, kill);
    expect(unflagged.ignored).toContain('TUGBOAT_TEST_HOOKS');
    expect(unflagged.killPoint.pass('workload-after-apply', 1)).toBe(1);
    const unknown = workloadKillPointFromEnv({ TUGBOAT_KILL_POINT: 'somewhere', TUGBOAT_TEST_HOOKS: '1' }, kill);
    expect(unknown.ignored).toContain('workload-after-apply, workload-mid-prune, workload-mid-delete');
    expect(workloadKillPointFromEnv({}, kill).ignored).toBeUndefined();
  });
});
