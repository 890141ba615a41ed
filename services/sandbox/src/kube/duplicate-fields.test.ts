import { duplicateFieldsOfJson, parseYamlNotingDuplicates } from './duplicate-fields.js';

describe('duplicate fields', () => {
  it('names every field a JSON body gives twice, with list indices, escapes and nesting', () => {
    const text = '{"a":1,"b":{"c":[{"d":1,"d":2},{"e":"x\\"y","e":"z"}],"c":[]},"a\\u0062":3,"ab":4, "s":"{\\"a\\":1,\\"a\\":2}"}';
    expect(duplicateFieldsOfJson(text)).toEqual(['b.c[0].d', 'b.c[1].e', 'b.c', 'ab']);
    expect(duplicateFieldsOfJson('{"spec":{"replicas":1,"template":{},"replicas":2}}')).toEqual(['spec.replicas']);
    expect(duplicateFieldsOfJson('[{"a":1},{"a":1}]')).toEqual([]);
  });

  it('parses YAML with duplicate keys (the last wins) and names them', () => {
    const { value, duplicates } = parseYamlNotingDuplicates('metadata: {name: a}\nspec:\n  replicas: 1\n  replicas: 2\n  ports:\n  - {port: 1, port: 2}\n');
    expect(duplicates).toEqual(['spec.replicas', 'spec.ports[0].port']);
    expect(value).toEqual({ metadata: { name: 'a' }, spec: { replicas: 2, ports: [{ port: 2 }] } });
  });
});
