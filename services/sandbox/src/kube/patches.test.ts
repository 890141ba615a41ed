import { jsonPatch, mergePatch, strategicMergePatch } from './patches.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';

describe('patches', () => {
  it('merge patch replaces lists and deletes with null', () => {
    expect(mergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] })).toEqual({ a: { c: 2, d: 3 }, l: [3] });
  });

  it('strategic merge patch merges keyed lists and honours directives', () => {
    const pod = { spec: { containers: [{ name: 'a', image: 'a:1', ports: [{ containerPort: 80 }] }, { name: 'b', image: 'b:1' }], tolerations: [{ key: 'x' }] }, metadata: { finalizers: ['f1'] } };
    const patched = strategicMergePatch(pod, {
      spec: { containers: [{ name: 'a', ports: [{ containerPort: 443 }] }, { name: 'b', $patch: 'delete' }, { name: 'c', image: 'c:1' }], tolerations: [{ key: 'y' }] },
      metadata: { finalizers: ['f2'], $deleteFromPrimitiveList: undefined },
    });
    expect(patched).toEqual({
      spec: { containers: [{ name: 'a', image: 'a:1', ports: [{ containerPort: 80 }, { containerPort: 443 }] }, { name: 'c', image: 'c:1' }], tolerations: [{ key: 'y' }] },
      metadata: { finalizers: ['f1', 'f2'] },
    });
    expect(strategicMergePatch({ metadata: { finalizers: ['f1', 'f2'] } }, { metadata: { '$deleteFromPrimitiveList/finalizers': ['f1'] } })).toEqual({ metadata: { finalizers: ['f2'] } });
    expect(strategicMergePatch({ spec: { a: 1, b: 2 } }, { spec: { $patch: 'replace', c: 3 } })).toEqual({ spec: { c: 3 } });
  });

  it('JSON patch applies operations in order and fails a test operation', () => {
    expect(jsonPatch({ a: [1, 2], b: { c: 1 } }, [{ op: 'add', path: '/a/-', value: 3 }, { op: 'move', from: '/b/c', path: '/d' }, { op: 'remove', path: '/a/0' }])).toEqual({ a: [2, 3], b: {}, d: 1 });
    expect(() => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }])).toThrow('testing value /a failed');
    expect(() => jsonPatch({ a: 1 }, [{ op: 'replace', path: '/missing', value: 2 }])).toThrow('missing');
  });
});

describe('selectors', () => {
  it('parse set-based label selectors', () => {
    const matches = parseLabelSelector('env in (prod, staging),tier!=db,!legacy,team');
    expect(matches({ env: 'prod', team: 'a' })).toBe(true);
    expect(matches({ env: 'prod', team: 'a', legacy: 'y' })).toBe(false);
    expect(matches({ env: 'dev', team: 'a' })).toBe(false);
    expect(matches({ env: 'prod', tier: 'db', team: 'a' })).toBe(false);
    expect(() => parseLabelSelector('bad key=x')).toThrow('unable to parse requirement');
  });

  it('limit field selectors to the fields a kind supports', () => {
    const phase = parseFieldSelector('status.phase=Running,metadata.name!=x', 'Pod');
    expect(phase({ metadata: { name: 'y' }, status: { phase: 'Running' } })).toBe(true);
    expect(phase({ metadata: { name: 'x' }, status: { phase: 'Running' } })).toBe(false);
    expect(() => parseFieldSelector('status.phase=Running', 'ConfigMap')).toThrow('field label not supported: status.phase');
  });
});
