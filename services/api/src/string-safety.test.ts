import { assertSafeStrings, findUnsafeString, unsafeStringRule } from './string-safety.js';

describe('string safety', () => {
  it('tells a NUL character and a lone surrogate apart from ordinary text, pairs included', () => {
    expect(unsafeStringRule('plain')).toBeUndefined();
    expect(unsafeStringRule('emoji \u{1F6A2} ok')).toBeUndefined();
    expect(unsafeStringRule('a\u0000b')).toBe('nul-character');
    expect(unsafeStringRule('a\uD800b')).toBe('lone-surrogate');
    expect(unsafeStringRule('\uDC00')).toBe('lone-surrogate');
    expect(unsafeStringRule('\uDC00\uD800')).toBe('lone-surrogate');
  });

  it('names the field at any depth, in arrays and in keys', () => {
    expect(findUnsafeString({ spec: { env: [{ name: 'ok' }, { name: 'x\u0000' }] } }, '')).toEqual({ path: 'spec.env[1].name', rule: 'nul-character' });
    expect(findUnsafeString({ metadata: { labels: { ['k\uD800']: 'v' } } }, '')).toEqual({ path: 'metadata.labels', rule: 'lone-surrogate' });
    expect(findUnsafeString([{ a: 1 }, 'fine', true, null], 'items')).toBeUndefined();
    expect(findUnsafeString({ ['x\u0000']: '1' }, '', 'query')).toEqual({ path: 'query', rule: 'nul-character' });
    // JSON.parse makes `__proto__` an own key like any other: what it holds is checked too.
    expect(findUnsafeString(JSON.parse('{"spec":{"__proto__":{"a":"x\\u0000"}}}'), '')).toEqual({ path: 'spec.__proto__.a', rule: 'nul-character' });
    expect(findUnsafeString(JSON.parse('{"spec":{"__proto__":{"a":"fine"}}}'), '')).toBeUndefined();
  });

  it('walks a value far deeper than the stack would allow', () => {
    let deep: unknown = 'end\u0000';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(findUnsafeString(deep, 'body')?.rule).toBe('nul-character');
  });

  it('refuses a number too large for a double (JSON 1e400, YAML .inf): it would be stored as null', () => {
    expect(findUnsafeString(JSON.parse('{"spec":{"size":[1,1e400]}}'), '')).toEqual({ path: 'spec.size[1]', rule: 'finite-number' });
    expect(findUnsafeString({ spec: { x: Number.NaN } }, '')).toEqual({ path: 'spec.x', rule: 'finite-number' });
    expect(findUnsafeString({ spec: { x: 1.7976931348623157e308, y: -0, z: 5e-324 } }, '')).toBeUndefined();
  });

  it('throws a 422 whose detail names the path and the rule', () => {
    expect(() => assertSafeStrings({ metadata: { name: 'a\u0000' } })).toThrow(expect.objectContaining({ status: 422, details: [{ path: 'metadata.name', rule: 'nul-character' }] }));
  });
});
