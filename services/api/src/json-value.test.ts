import { diffJson } from './json-diff.js';
import { applyMergePatch, cloneJson, getPath, jsonEqual, setPath } from './json-value.js';

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

  // User-given paths and keys never reach Object.prototype: a secret field `__proto__.toString`
  // once replaced Object.prototype.toString with "<redacted>" for the whole process.
  it('walks own properties only', () => {
    const spec = JSON.parse('{"a":{"b":1}}') as Record<string, unknown>;
    expect(getPath(spec, '__proto__.toString')).toBeUndefined();
    expect(getPath(spec, 'constructor')).toBeUndefined();
    expect(getPath(spec, 'a.constructor.prototype')).toBeUndefined();
    setPath(spec, '__proto__.toString', '<redacted>');
    setPath(spec, 'constructor.prototype.polluted', 'yes');
    setPath(spec, 'a.__proto__', 'x');
    expect(typeof Object.prototype.toString).toBe('function');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(Object.getPrototypeOf(spec['a']))).toBeNull();
    expect(spec).toEqual({ a: { b: 1 } });
  });

  it('merges a "__proto__" key as data, not as a prototype', () => {
    const patched = applyMergePatch({ a: 1 }, JSON.parse('{"__proto__":{"polluted":"yes"}}')) as Record<string, unknown>;
    // structuredClone makes objects in Node's own realm, not the test's: compare shapes, not identity.
    expect(Object.getPrototypeOf(Object.getPrototypeOf(patched))).toBeNull();
    expect(Object.hasOwn(patched, '__proto__')).toBe(true);
    expect(patched['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('copies JSON deeply, a "__proto__" key as data, and other objects as structuredClone does', () => {
    const source = JSON.parse('{"a":{"b":[1,{"c":null}]},"__proto__":{"polluted":"yes"},"s":"x"}') as Record<string, unknown>;
    const copy = cloneJson(source);
    expect(copy).not.toBe(source);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(source));
    expect(Object.hasOwn(copy, '__proto__')).toBe(true);
    expect(copy['polluted']).toBeUndefined();
    ((copy['a'] as Record<string, unknown>)['b'] as unknown[]).push(2);
    expect((source['a'] as Record<string, unknown>)['b']).toEqual([1, { c: null }]);
    const when = new Date(0);
    const withDate = cloneJson({ when });
    expect(withDate.when).not.toBe(when);
    expect(withDate.when.getTime()).toBe(0);
  });

  it('diffs keys one side lacks without reading the prototype', () => {
    expect(diffJson({ constructor: 1 }, {})).toEqual([{ path: 'constructor', op: 'remove', from: 1 }]);
    expect(diffJson({}, { toString: 'x' })).toEqual([{ path: 'toString', op: 'add', to: 'x' }]);
  });
});
