import { BUILTIN_KINDS } from '@tugboat/resource-model';
import { createKindSchemaCompiler, declaredAt } from './kind-schema.js';

describe('createKindSchemaCompiler', () => {
  const compiler = createKindSchemaCompiler();

  it('compiles every built-in kind under the strict rules', () => {
    for (const kind of BUILTIN_KINDS) expect({ kind: kind.kind, problems: compiler.compile(kind.schema).problems }).toEqual({ kind: kind.kind, problems: undefined });
  });

  // With a backtracking engine, `^(a+)+$` against 29 a's and a "!" takes tens of seconds (72 s was
  // measured against the API); RE2 answers in linear time.
  it('runs patterns in linear time', () => {
    const compiled = compiler.compile({ type: 'object', properties: { word: { type: 'string', pattern: '^(a+)+$' } }, patternProperties: { '^(x+)+y$': { type: 'string' } } });
    expect(compiled.problems).toBeUndefined();
    const started = performance.now();
    expect(compiled.validate!({ word: `${'a'.repeat(29)}!` })).toEqual([expect.objectContaining({ path: 'spec.word', rule: 'pattern' })]);
    expect(compiled.validate!({ [`${'x'.repeat(5000)}`]: 1 })).toEqual([]);
    expect(compiled.validate!({ word: 'a'.repeat(100_000) })).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  // ajv compares every pair of items unless their type is scalar: 15,000 nested arrays took 1.7 s.
  it('refuses uniqueItems over non-scalar items without a small maxItems, and allows it otherwise', () => {
    const array = (extra: Record<string, unknown>) => compiler.compile({ type: 'object', properties: { s: { type: 'array', uniqueItems: true, ...extra } } });
    expect(array({}).problems).toEqual([expect.objectContaining({ path: 'schema.properties.s.uniqueItems', rule: 'unique-items-bound', message: expect.stringContaining('maxItems of at most 500') })]);
    expect(array({ items: { type: 'object' }, maxItems: 501 }).problems?.map((p) => p.rule)).toEqual(['unique-items-bound']);
    expect(array({ items: { type: ['string', 'object'] } }).problems?.map((p) => p.rule)).toEqual(['unique-items-bound']);
    expect(array({ items: { type: 'object' }, maxItems: 500 }).problems).toBeUndefined();
    expect(array({ items: { type: 'string' } }).problems).toBeUndefined();
    expect(array({ items: { type: ['integer', 'null'] } }).problems).toBeUndefined();
  });

  it('keeps different patterns apart (ajv caches patterns by their text)', () => {
    const compiled = compiler.compile({ type: 'object', properties: { a: { type: 'string', pattern: '^a$' }, b: { type: 'string', pattern: '^b$' } } });
    expect(compiled.validate!({ a: 'a', b: 'b' })).toEqual([]);
    expect(compiled.validate!({ a: 'b', b: 'a' }).map((d) => d.path)).toEqual(['spec.a', 'spec.b']);
  });

  it('refuses every reason at once, each with its path', () => {
    const compiled = compiler.compile({
      type: 'object',
      $async: true,
      properties: { a: { $ref: 'other.json#/x' }, b: { type: 'string', pattern: '(a)\\1' } },
      $defs: { c: { $id: 'urn:c' } },
    });
    expect(compiled.problems?.map((p) => [p.path, p.rule])).toEqual([
      ['schema.$async', 'async'],
      ['schema.properties.a.$ref', 'remote-ref'],
      ['schema.properties.b.pattern', 'pattern'],
      ['schema.$defs.c.$id', 'id'],
    ]);
  });

  it('accepts local references, including recursive ones', () => {
    const compiled = compiler.compile({
      type: 'object',
      $defs: { node: { type: 'object', properties: { children: { type: 'array', items: { $ref: '#/$defs/node' } } } } },
      properties: { tree: { $ref: '#/$defs/node' } },
    });
    expect(compiled.problems).toBeUndefined();
    expect(compiled.validate!({ tree: { children: [{ children: [] }] } })).toEqual([]);
  });
});

describe('declaredAt', () => {
  const schema = { type: 'object', properties: { existing: { type: 'object', properties: { kubeconfig: { type: 'string' } } } } };
  it('follows own properties only', () => {
    expect(declaredAt(schema, 'existing.kubeconfig')).toEqual({ type: 'string' });
    expect(declaredAt(schema, 'existing.toString')).toMatch(/not declared/);
    expect(declaredAt(schema, '__proto__.toString')).toMatch(/not allowed/);
  });
});
