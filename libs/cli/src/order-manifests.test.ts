import { BUILTIN_KINDS, type KindDefinition } from '@tugboat/resource-model';
import { orderManifests } from './order-manifests.js';
import { toManifest } from './read-manifests.js';

const manifest = (value: unknown, index = 0) => toManifest({ source: `b.yaml#${index + 1}`, value }, BUILTIN_KINDS, 'team-a');
const names = (list: ReturnType<typeof orderManifests>) => list.map((item) => `${item.definition.kind}/${item.input.metadata.name}`);

describe('orderManifests', () => {
  it('puts every referenced object before its referrers and keeps file order otherwise', () => {
    const bundle = [
      { kind: 'WorkloadInstance', metadata: { name: 'web' }, spec: { definitionRef: { name: 'svc' }, clusterRef: { name: 'c1' }, overrides: { image: 'x' } } },
      { kind: 'AwsAccount', metadata: { name: 'unrelated' }, spec: {} },
      { kind: 'ClusterInstance', metadata: { name: 'c1' }, spec: { definitionRef: { name: 'small' } } },
      { kind: 'WorkloadDefinition', metadata: { name: 'svc' }, spec: { container: {}, overridable: ['image'] } },
      { kind: 'ClusterDefinition', metadata: { name: 'small' }, spec: {} },
    ].map(manifest);
    expect(names(orderManifests(bundle, BUILTIN_KINDS))).toEqual([
      'WorkloadDefinition/svc',
      'ClusterDefinition/small',
      'ClusterInstance/c1',
      'WorkloadInstance/web',
      'AwsAccount/unrelated',
    ]);
  });

  it('ignores references to objects outside the bundle', () => {
    const bundle = [
      { kind: 'ClusterInstance', metadata: { name: 'c1' }, spec: { definitionRef: { name: 'elsewhere' } } },
      { kind: 'ClusterDefinition', metadata: { name: 'small' }, spec: {} },
    ].map(manifest);
    expect(names(orderManifests(bundle, BUILTIN_KINDS))).toEqual(['ClusterInstance/c1', 'ClusterDefinition/small']);
  });

  it('orders owners before the objects they own, and reports cycles and duplicates', () => {
    const gadget: KindDefinition = {
      kind: 'Gadget',
      plural: 'gadgets',
      singular: 'gadget',
      shortNames: [],
      scope: 'Project',
      controller: 'gadget-controller',
      schema: {},
      references: [{ path: 'partnerRef', kind: 'Gadget' }],
      secretFields: [],
    };
    const kinds = [...BUILTIN_KINDS, gadget];
    const of = (value: unknown) => toManifest({ source: 'g.yaml#1', value }, kinds, 'team-a');
    const owned = of({ kind: 'Gadget', metadata: { name: 'child', ownerReferences: [{ kind: 'Gadget', name: 'parent' }] }, spec: {} });
    const owner = of({ kind: 'Gadget', metadata: { name: 'parent' }, spec: {} });
    expect(names(orderManifests([owned, owner], kinds))).toEqual(['Gadget/parent', 'Gadget/child']);

    const a = of({ kind: 'Gadget', metadata: { name: 'a' }, spec: { partnerRef: { name: 'b' } } });
    const b = of({ kind: 'Gadget', metadata: { name: 'b' }, spec: { partnerRef: { name: 'a' } } });
    expect(() => orderManifests([a, b], kinds)).toThrow('cycle: Gadget/team-a/a -> Gadget/team-a/b -> Gadget/team-a/a');
    expect(() => orderManifests([a, a], kinds)).toThrow('Gadget/team-a/a is also defined in g.yaml#1');
  });
});
