import { mergeValues, valuesOverrideViolations } from './chart-values.js';

describe('chart values', () => {
  it('allows a path named in overridableValues and every path under it', () => {
    expect(valuesOverrideViolations({ image: { tag: '1.2', repository: 'r' }, replicaCount: 2 }, ['image', 'replicaCount'], 'web')).toEqual([]);
    expect(valuesOverrideViolations({ image: { tag: '1.2' } }, ['image.tag'], 'web')).toEqual([]);
  });

  it('names each path the definition does not allow, with the rule', () => {
    const violations = valuesOverrideViolations({ image: { tag: '1', pullPolicy: 'Always' }, ui: { message: 'hi' } }, ['image.tag'], 'web');
    expect(violations.map((v) => [v.path, v.rule])).toEqual([
      ['spec.overrides.values.image.pullPolicy', 'overridableValues'],
      ['spec.overrides.values.ui.message', 'overridableValues'],
    ]);
    expect(violations[0]!.message).toContain('WorkloadDefinition web does not let instances set chart value image.pullPolicy (overridableValues: image.tag)');
  });

  it('refuses prototype keys and dotted keys without walking into them', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": 1}, "a.b": 1, "constructor": {"x": 1}}') as Record<string, unknown>;
    const violations = valuesOverrideViolations(hostile, ['a'], 'web');
    expect(violations.map((v) => v.rule)).toEqual(['key', 'key', 'key']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('bounds depth', () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 40; i += 1) deep = { a: deep };
    expect(valuesOverrideViolations(deep, ['a'], 'web').map((v) => v.rule)).toEqual(['maxDepth']);
  });

  it('deep-merges the instance over the definition without sharing objects or touching prototypes', () => {
    const base = { image: { repository: 'r', tag: '1' }, list: [1, 2] };
    const merged = mergeValues(base, JSON.parse('{"image": {"tag": "2"}, "list": [3], "__proto__": {"polluted": 1}}') as Record<string, unknown>);
    expect(merged).toEqual({ image: { repository: 'r', tag: '2' }, list: [3] });
    (merged['image'] as Record<string, unknown>)['tag'] = 'changed';
    expect(base.image.tag).toBe('1');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
