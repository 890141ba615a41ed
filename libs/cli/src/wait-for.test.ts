import type { Resource } from '@tugboat/resource-model';
import { parseDuration } from './parse-duration.js';
import { conditionHolds, failureOf, parseWaitTarget } from './wait-for.js';

const object = (generation: number, status: Resource['status']) =>
  ({ metadata: { generation, finalizers: [] }, status }) as unknown as Resource;

describe('parseWaitTarget', () => {
  it('reads condition=TYPE[=STATUS] and delete', () => {
    expect(parseWaitTarget('condition=Ready')).toEqual({ type: 'condition', condition: 'Ready', status: 'True' });
    expect(parseWaitTarget('condition=Synced=false')).toEqual({ type: 'condition', condition: 'Synced', status: 'False' });
    expect(parseWaitTarget('delete')).toEqual({ type: 'delete' });
    expect(() => parseWaitTarget('Ready')).toThrow('--for: "Ready" is not condition=TYPE');
    expect(() => parseWaitTarget('condition=Ready=Maybe')).toThrow('--for');
  });
});

describe('conditionHolds', () => {
  it('counts a condition only at the current generation', () => {
    const ready = [{ type: 'Ready', status: 'True' as const }];
    expect(conditionHolds(object(2, { observedGeneration: 2, conditions: ready }), 'Ready', 'True')).toBe(true);
    expect(conditionHolds(object(2, { observedGeneration: 1, conditions: ready }), 'Ready', 'True')).toBe(false);
    expect(conditionHolds(object(2, { conditions: [{ type: 'Ready', status: 'True', observedGeneration: 1 }] }), 'Ready', 'True')).toBe(false);
    expect(conditionHolds(object(1, { conditions: ready }), 'ready', 'True')).toBe(true);
    expect(conditionHolds(object(1, { conditions: ready }), 'Ready', 'False')).toBe(false);
    expect(conditionHolds(object(1, {}), 'Ready', 'True')).toBe(false);
  });
});

describe('failureOf', () => {
  it('reports Failed only at the current generation, with the Ready reason', () => {
    const failed = { phase: 'Failed' as const, conditions: [{ type: 'Ready', status: 'False' as const, reason: 'Quota', message: 'no vCPUs left' }] };
    expect(failureOf(object(1, { ...failed, observedGeneration: 1 }))).toBe('Quota: no vCPUs left');
    expect(failureOf(object(2, { ...failed, observedGeneration: 1 }))).toBeUndefined();
    expect(failureOf(object(1, { phase: 'Failed' }))).toBe('no reason given');
    expect(failureOf(object(1, { phase: 'Degraded' }))).toBeUndefined();
  });
});

describe('parseDuration', () => {
  it('reads ms, s, m, h and bare seconds', () => {
    expect([parseDuration('250ms', 't'), parseDuration('30s', 't'), parseDuration('2m', 't'), parseDuration('1h', 't'), parseDuration('1.5', 't')]).toEqual([
      250, 30_000, 120_000, 3_600_000, 1_500,
    ]);
    expect(() => parseDuration('soon', '--timeout')).toThrow('--timeout: "soon" is not a duration');
  });
});
