import { BUILTIN_KINDS, type KindDefinition } from '@tugboat/resource-model';
import { createOpenApiDocumentCache } from './openapi-document-cache.js';

describe('createOpenApiDocumentCache', () => {
  it('builds the document once per set of kinds, and again when a kind is added or replaced', async () => {
    let kinds: KindDefinition[] = [...BUILTIN_KINDS];
    const cache = createOpenApiDocumentCache({ list: async () => [...kinds] });
    const first = await cache.json();
    for (let i = 0; i < 20; i++) expect(await cache.json()).toBe(first);
    expect(cache.builds).toBe(1);

    const gadget: KindDefinition = { kind: 'Gadget', plural: 'gadgets', singular: 'gadget', shortNames: [], scope: 'Project', controller: 'g', schema: { type: 'object' }, references: [], secretFields: [] };
    kinds = [...kinds, gadget];
    expect(JSON.parse(await cache.json()).paths['/v1/gadgets']).toBeDefined();
    expect(cache.builds).toBe(2);

    kinds = [...kinds.slice(0, -1), { ...gadget, schema: { type: 'object', properties: { size: { type: 'integer' } } } }];
    await cache.json();
    expect(cache.builds).toBe(3);
  });
});
