import { declaredReferencePath, REFERENCE_PATH_SYNTAX, referencedNames, referenceTargets } from './reference-path.js';

describe('reference paths', () => {
  it('reads one field, or the field in each item of an array, with concrete paths', () => {
    const spec = { clusterRef: { name: 'c' }, databases: [{ ref: { name: 'orders' }, envPrefix: 'DB' }, { ref: { name: 'users' } }, { ref: { nom: 'x' } }, 'junk'] };
    expect(referencedNames(spec, 'clusterRef')).toEqual([{ path: 'clusterRef', name: 'c' }]);
    expect(referencedNames(spec, 'databases[].ref')).toEqual([
      { path: 'databases[0].ref', name: 'orders' },
      { path: 'databases[1].ref', name: 'users' },
      { path: 'databases[2].ref', name: undefined },
    ]);
    expect(referenceTargets(spec, 'missing')).toEqual([]);
    expect(referenceTargets({ databases: 'not-an-array' }, 'databases[].ref')).toEqual([]);
    expect(declaredReferencePath('databases[12].ref')).toBe('databases[].ref');
  });

  it('never follows a prototype, and accepts only identifiers with [] after a segment', () => {
    const spec = JSON.parse('{"clusterRef":{"name":"c"}}') as Record<string, unknown>;
    expect(referenceTargets(spec, '__proto__')).toEqual([]);
    expect(referenceTargets(spec, 'constructor')).toEqual([]);
    expect(referenceTargets(spec, 'clusterRef.name.length')).toEqual([]);
    for (const ok of ['clusterRef', 'a.b', 'databases[].ref', 'a[].b[].c']) expect(REFERENCE_PATH_SYNTAX.test(ok)).toBe(true);
    for (const bad of ['a[0].b', 'a.[]', '[]', 'a[]]', 'a..b', '.a', 'a-b']) expect(REFERENCE_PATH_SYNTAX.test(bad)).toBe(false);
  });
});
