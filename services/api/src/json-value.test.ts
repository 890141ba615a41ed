import { applyMergePatch, getPath, jsonEqual, setPath } from './json-value.js';

describe('JSON helpers', () => {
  it('applies RFC 7386 merge patches', () => {
    // The examples of RFC 7386, appendix A (a selection).
    expect(applyMergePatch({ a: 'b' }, { a: 'c' })).toEqual({ a: 'c' });
    expect(applyMergePatch({ a: 'b' }, { b: 'c' })).toEqual({ a: 'b', b: 'c' });
    expect(applyMergePatch({ a: 'b' }, { a: null })).toEqual({});
    expect(applyMergePatch({ a: ['b'] }, { a: 'c' })).toEqual({ a: 'c' });
    expect(applyMergePatch({ a: { b: 'c' } }, { a: { b: 'd', c: null } })).toEqual({ a: { b: 'd' } });
    expect(applyMergePatch({ e: null }, { a: 1 })).toEqual({ e: null, a: 1 });
    expect(applyMergePatch([1, 2], { a: 'b', c: null })).toEqual({ a: 'b' });
    expect(applyMergePatch({}, { a: { bb: { ccc: null } } })).toEqual({ a: { bb: {} } });
    const target = { a: { b: 1 } };
    applyMergePatch(target, { a: { b: 2 } });
    expect(target).toEqual({ a: { b: 1 } });
  });

  it('compares JSON values regardless of key order', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: null }, {})).toBe(false);
  });

  it('reads and writes dotted paths', () => {
    const value = { existing: { kubeconfig: 'x' } };
    expect(getPath(value, 'existing.kubeconfig')).toBe('x');
    expect(getPath(value, 'missing.kubeconfig')).toBeUndefined();
    setPath(value, 'existing.kubeconfig', 'y');
    setPath(value, 'missing.kubeconfig', 'z');
    expect(value).toEqual({ existing: { kubeconfig: 'y' } });
  });
});
