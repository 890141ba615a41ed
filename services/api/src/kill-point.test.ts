import { testKillPointFromEnv, noKillPoint } from './kill-point.js';

const mustNotKill = () => {
  throw new Error('must not kill');
};

describe('kill points', () => {
  it('does nothing unless armed', () => {
    expect(noKillPoint.pass('after-commit', 3)).toBe(3);
    expect(testKillPointFromEnv({}, mustNotKill).killPoint.pass('relay-before-publish', 5)).toBe(5);
  });

  it('stays inert in production: a kill point without TUGBOAT_TEST_HOOKS=1 arms nothing and says why', () => {
    for (const hooks of [undefined, '', 'true', '0']) {
      const env = { TUGBOAT_KILL_POINT: 'after-commit', ...(hooks === undefined ? {} : { TUGBOAT_TEST_HOOKS: hooks }) };
      const { killPoint, ignored } = testKillPointFromEnv(env, mustNotKill);
      expect(killPoint.pass('after-commit', 1)).toBe(1);
      expect(ignored).toMatch(/TUGBOAT_TEST_HOOKS/);
    }
    expect(testKillPointFromEnv({ TUGBOAT_KILL_POINT: 'nowhere', TUGBOAT_TEST_HOOKS: '1' }, mustNotKill).ignored).toMatch(/one of relay-before-publish, after-commit/);
  });

  it('lets N items through, then kills at the armed point only', () => {
    const kills: string[] = [];
    const { killPoint: point } = testKillPointFromEnv({ TUGBOAT_TEST_HOOKS: '1', TUGBOAT_KILL_POINT: 'relay-before-publish', TUGBOAT_KILL_POINT_AFTER: '3' }, () => kills.push('kill'));
    expect(point.pass('after-commit', 10)).toBe(10);
    expect(point.pass('relay-before-publish', 2)).toBe(2);
    expect(point.pass('relay-before-publish', 5)).toBe(1);
    expect(kills).toEqual([]);
    expect(point.pass('relay-before-publish', 1)).toBe(0);
    expect(kills).toEqual(['kill']);
  });

  it('kills at the first commit by default', () => {
    const kills: string[] = [];
    testKillPointFromEnv({ TUGBOAT_TEST_HOOKS: '1', TUGBOAT_KILL_POINT: 'after-commit' }, () => kills.push('kill')).killPoint.pass('after-commit', 1);
    expect(kills).toEqual(['kill']);
  });
});
