import { assertJsonTextDepth, assertValueDepth, createQueryParser } from './request-limits.js';

const bytes = (text: string) => Buffer.from(text);

describe('request limits', () => {
  it('measures JSON nesting from the text, ignoring brackets inside strings', () => {
    expect(() => assertJsonTextDepth(bytes(`${'['.repeat(5)}${']'.repeat(5)}`), 5)).not.toThrow();
    expect(() => assertJsonTextDepth(bytes(`${'['.repeat(6)}${']'.repeat(6)}`), 5)).toThrow(expect.objectContaining({ status: 400, details: [{ path: 'body', rule: 'max-depth' }] }));
    expect(() => assertJsonTextDepth(bytes(JSON.stringify({ a: '[[[[[[[[[[', b: 'say \\"[[[[[[[[' })), 2)).not.toThrow();
    expect(() => assertJsonTextDepth(bytes('{"a":{"b":{"c":1}}}'), 2)).toThrow(expect.objectContaining({ details: [{ path: 'body', rule: 'max-depth' }] }));
  });

  it('measures a parsed value without recursion', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    expect(() => assertValueDepth(deep, 64)).toThrow(expect.objectContaining({ details: [{ path: 'body', rule: 'max-depth' }] }));
    expect(() => assertValueDepth({ a: [{ b: [] }] }, 4)).not.toThrow();
  });

  it('parses a flat query, refuses too many parameters by name, and builds no nested objects', () => {
    const parse = createQueryParser({ maxQueryParameters: 3 });
    expect({ ...parse('a=1&b=2&a=3') }).toEqual({ a: ['1', '3'], b: '2' });
    expect(Object.entries(parse('a[b][c]=1&__proto__=x'))).toEqual([
      ['a[b][c]', '1'],
      ['__proto__', 'x'],
    ]);
    expect(Object.getPrototypeOf(parse('x=1'))).toBeNull();
    expect(() => parse('a=1&b=2&c=3&d=4')).toThrow(expect.objectContaining({ status: 400, details: [{ path: 'query', rule: 'max-parameters' }] }));
  });
});
