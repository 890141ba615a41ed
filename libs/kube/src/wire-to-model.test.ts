import { modelTypeOf, toModel } from './wire-to-model.js';

describe('wire to model', () => {
  it('renames a CRD schema\'s wire fields to the names client-node\'s serializer reads, at every depth', () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gateways.gateway.networking.k8s.io' },
      spec: {
        group: 'gateway.networking.k8s.io',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { mode: { type: 'string', enum: ['A', 'B'], default: 'A' } } },
                  list: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], items: { type: 'object', 'x-kubernetes-validations': [{ rule: 'self.a' }] } },
                },
              },
            },
          },
        ],
      },
    };
    const type = modelTypeOf(crd.apiVersion, crd.kind)!;
    expect(type).toBe('V1CustomResourceDefinition');
    const model = toModel(crd, type) as { spec: { versions: Array<{ schema: { openAPIV3Schema: { properties: Record<string, Record<string, unknown>> } } }> } };
    const properties = model.spec.versions[0]!.schema.openAPIV3Schema.properties;
    expect(properties['spec']).toMatchObject({ x_kubernetes_preserve_unknown_fields: true });
    expect((properties['spec']!['properties'] as Record<string, unknown>)['mode']).toEqual({ type: 'string', _enum: ['A', 'B'], _default: 'A' });
    // `items` is `any` to the model (a schema or a list of them): the serializer sends it as it is, so it stays in wire form.
    expect(properties['list']).toMatchObject({ x_kubernetes_list_type: 'map', x_kubernetes_list_map_keys: ['name'], items: { 'x-kubernetes-validations': [{ rule: 'self.a' }] } });
  });

  it('leaves custom resources alone', () => {
    expect(modelTypeOf('gateway.networking.k8s.io/v1', 'Gateway')).toBeUndefined();
  });
});
