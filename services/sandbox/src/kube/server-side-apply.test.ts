import { FieldSet, fieldSetOf, valueAt, valuesIn } from './field-set.js';
import { applyConfiguration, recordUpdate } from './server-side-apply.js';

const NOW = '2026-01-01T00:00:00Z';

function apply(live: Record<string, unknown> | undefined, config: Record<string, unknown>, manager: string, force = false) {
  return applyConfiguration({ live, config, manager, force, apiVersion: 'apps/v1', now: NOW, scope: 'main', subresource: '' });
}

function deployment(containers: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { ...extra, template: { spec: { containers } } } };
}

describe('field sets', () => {
  it('track keyed list items and round-trip through fieldsV1', () => {
    const set = fieldSetOf(deployment([{ name: 'app', image: 'a', args: ['x'] }], { replicas: 2 }), 'main');
    const tree = set.toFieldsV1();
    expect(tree).toEqual({
      'f:spec': {
        'f:replicas': {},
        'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:name': {}, 'f:image': {}, 'f:args': {} } } } },
      },
    });
    expect(Object.keys((((tree['f:spec'] as Record<string, unknown>)['f:template'] as Record<string, Record<string, Record<string, Record<string, unknown>>>>)['f:spec']?.['f:containers']?.['k:{"name":"app"}']) ?? {})[0]).toBe('.');
    const back = FieldSet.fromFieldsV1(tree);
    expect(back.paths().map((path) => JSON.stringify(path)).sort()).toEqual(set.paths().map((path) => JSON.stringify(path)).sort());
  });

  it('look values up by key as valueAt walks them, parents once for all their children', () => {
    const object = deployment([{ name: 'app', image: 'a', ports: [{ containerPort: 80, name: 'http' }] }, { name: 'side', image: 'b' }], { replicas: 2 });
    const set = fieldSetOf({ ...object, metadata: { name: 'web', labels: { 'odd\nkey': 'x', plain: 'y' }, finalizers: ['f1'] } }, 'all');
    const lookup = valuesIn(object);
    let keyed = 0;
    for (const [key, path] of set.entries()) {
      expect([path, lookup(path, key)]).toEqual([path, valueAt(object, path)]);
      keyed += 1;
    }
    expect(keyed).toBe(set.size);
    expect(set.hasAtOrBelow(['f:metadata', 'f:labels'])).toBe(true);
    expect(set.has(['f:metadata', 'f:labels', 'f:odd\nkey'])).toBe(true);
    expect(set.hasAtOrBelow(['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"app"}', 'f:ports'])).toBe(true);
    expect(set.hasAtOrBelow(['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"gone"}'])).toBe(false);
  });

  it('leave status out of the main resource and keep only ownable metadata', () => {
    const set = fieldSetOf({ apiVersion: 'v1', kind: 'X', metadata: { name: 'n', uid: 'u', labels: { a: 'b' } }, status: { phase: 'x' } }, 'main');
    expect(set.paths()).toEqual([['f:metadata', 'f:labels', 'f:a']]);
  });
});

describe('server-side apply', () => {
  it('removes the fields and list items a manager stops applying', () => {
    const first = apply(undefined, deployment([{ name: 'app', image: 'a' }, { name: 'sidecar', image: 's' }], { replicas: 2 }), 'ci');
    if (first.conflicts) throw new Error('unexpected conflict');
    const second = apply({ ...first.object, metadata: { ...(first.object.metadata as object), managedFields: first.managedFields } }, deployment([{ name: 'app', image: 'b' }]), 'ci');
    if (second.conflicts) throw new Error('unexpected conflict');
    expect(second.object.spec).toEqual({ template: { spec: { containers: [{ name: 'app', image: 'b' }] } } });
  });

  it('keeps a dropped field that another manager also owns, and shares fields set to the same value', () => {
    const first = apply(undefined, deployment([{ name: 'app', image: 'a' }], { replicas: 2 }), 'ci');
    if (first.conflicts) throw new Error('unexpected conflict');
    const shared = apply({ ...first.object, metadata: { ...(first.object.metadata as object), managedFields: first.managedFields } }, deployment([], { replicas: 2 }), 'ops');
    if (shared.conflicts) throw new Error('same value must not conflict');
    const live = { ...shared.object, metadata: { ...(shared.object.metadata as object), managedFields: shared.managedFields } };
    const dropped = apply(live, deployment([{ name: 'app', image: 'a' }]), 'ci');
    if (dropped.conflicts) throw new Error('unexpected conflict');
    expect((dropped.object.spec as { replicas?: number }).replicas).toBe(2);
  });

  it('reports a different value for another manager’s field as a conflict unless forced', () => {
    const first = apply(undefined, deployment([{ name: 'app', image: 'a' }]), 'ci');
    if (first.conflicts) throw new Error('unexpected conflict');
    const live = { ...first.object, metadata: { ...(first.object.metadata as object), managedFields: first.managedFields } };
    const conflicting = apply(live, deployment([{ name: 'app', image: 'b' }]), 'ops');
    expect(conflicting.conflicts).toEqual([{ manager: 'ci', apiVersion: 'apps/v1', path: ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"app"}', 'f:image'] }]);
    const forced = apply(live, deployment([{ name: 'app', image: 'b' }]), 'ops', true);
    if (forced.conflicts) throw new Error('force must not conflict');
    const owners = Object.fromEntries(forced.managedFields.map((entry) => [entry.manager, FieldSet.fromFieldsV1(entry.fieldsV1)]));
    const image = ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"app"}', 'f:image'];
    expect(owners.ops?.has(image)).toBe(true);
    expect(owners.ci?.has(image)).toBe(false);
  });

  it('moves fields an ordinary update changes to the updating manager', () => {
    const previous = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1', b: '2' } };
    const created = recordUpdate({ previous: undefined, next: previous, manager: 'creator', apiVersion: 'v1', now: NOW, scope: 'all', subresource: '' });
    const next = { ...previous, metadata: { name: 'c', managedFields: created }, data: { a: '1', b: '3', c: '4' } };
    const updated = recordUpdate({ previous: { ...previous, metadata: { name: 'c', managedFields: created } }, next, manager: 'editor', apiVersion: 'v1', now: NOW, scope: 'all', subresource: '' });
    expect(updated.map((entry) => [entry.manager, entry.fieldsV1])).toEqual([
      ['creator', { 'f:data': { 'f:a': {} } }],
      ['editor', { 'f:data': { 'f:b': {}, 'f:c': {} } }],
    ]);
  });

  it('tracks a field whose name has a newline like any other, and drops it from its owner once gone', () => {
    const first = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'x\ny': '1', x: '2' } };
    const created = recordUpdate({ previous: undefined, next: first, manager: 'creator', apiVersion: 'v1', now: NOW, scope: 'all', subresource: '' });
    const live = { ...first, metadata: { name: 'c', managedFields: created } };
    const edited = recordUpdate({ previous: live, next: { ...live, data: { 'x\ny': '3', x: '2' } }, manager: 'editor', apiVersion: 'v1', now: NOW, scope: 'all', subresource: '' });
    expect(edited.map((entry) => [entry.manager, entry.fieldsV1])).toEqual([
      ['creator', { 'f:data': { 'f:x': {} } }],
      ['editor', { 'f:data': { 'f:x\ny': {} } }],
    ]);
    const editedLive = { ...live, data: { 'x\ny': '3', x: '2' }, metadata: { name: 'c', managedFields: edited } };
    const removed = recordUpdate({ previous: editedLive, next: { ...editedLive, data: { x: '2' } }, manager: 'creator', apiVersion: 'v1', now: NOW, scope: 'all', subresource: '' });
    expect(removed.map((entry) => [entry.manager, entry.fieldsV1])).toEqual([['creator', { 'f:data': { 'f:x': {} } }]]);
  });
});
