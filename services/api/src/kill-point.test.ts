import { killPointFromEnv, noKillPoint } from './kill-point.js';

describe('kill points', () => {
  it('does nothing unless armed', () => {
    expect(noKillPoint.pass('after-commit', 3)).toBe(3);
    expect(killPointFromEnv({}, () => { throw new Error('must not kill'); }).pass('relay-before-publish', 5)).toBe(5);
  });

  it('lets N items through, then kills at the armed point only', () => {
    const kills: string[] = [];
    const point = killPointFromEnv({ TUGBOAT_KILL_POINT: 'relay-before-publish', TUGBOAT_KILL_POINT_AFTER: '3' }, () => kills.push('kill'));
    expect(point.pass('after-commit', 10)).toBe(10);
    expect(point.pass('relay-before-publish', 2)).toBe(2);
    expect(point.pass('relay-before-publish', 5)).toBe(1);
    expect(kills).toEqual([]);
    expect(point.pass('relay-before-publish', 1)).toBe(0);
    expect(kills).toEqual(['kill']);
  });

  it('kills at the first commit by default', () => {
    const kills: string[] = [];
    killPointFromEnv({ TUGBOAT_KILL_POINT: 'after-commit' }, () => kills.push('kill')).pass('after-commit', 1);
    expect(kills).toEqual(['kill']);
  });
});
