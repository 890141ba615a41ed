import { BUILTIN_KINDS, type Resource } from '@tugboat/resource-model';
import { compareWithStored, deepEqual } from './apply-manifests.js';
import { toManifest } from './read-manifests.js';

const cluster = (spec: Record<string, unknown>, labels?: Record<string, string>) =>
  toManifest({ source: 'x#1', value: { kind: 'ClusterInstance', metadata: { name: 'c', labels }, spec } }, BUILTIN_KINDS, undefined);

const stored = (spec: Record<string, unknown>, labels: Record<string, string> = {}) =>
  ({ kind: 'ClusterInstance', metadata: { name: 'c', project: '', labels }, spec, status: {} }) as unknown as Resource;

describe('compareWithStored', () => {
  const base = { definitionRef: { name: 'small' }, existing: { kubeconfig: '<redacted>' } };

  it('treats <redacted> as the stored secret and ignores key order', () => {
    expect(compareWithStored(cluster({ existing: { kubeconfig: '<redacted>' }, definitionRef: { name: 'small' } }), stored(base))).toBe('equal');
  });

  it('cannot compare a real secret value, so leaves it to the server', () => {
    expect(compareWithStored(cluster({ ...base, existing: { kubeconfig: 'real' } }), stored(base))).toBe('secrets-unknown');
  });

  it('sees changed specs, labels, and secrets added or removed', () => {
    expect(compareWithStored(cluster({ ...base, region: 'eu-west-1' }), stored(base))).toBe('different');
    expect(compareWithStored(cluster(base, { tier: 'prod' }), stored(base))).toBe('different');
    expect(compareWithStored(cluster({ definitionRef: { name: 'small' } }), stored(base))).toBe('different');
    expect(compareWithStored(cluster({ ...base, existing: { kubeconfig: 'x' } }), stored({ definitionRef: { name: 'small' } }))).toBe('different');
    expect(compareWithStored(cluster({ ...base, existing: { kubeconfig: 'x' }, region: 'eu-west-1' }), stored(base))).toBe('different');
  });
});

describe('deepEqual', () => {
  it('compares JSON structurally', () => {
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
    expect(deepEqual({ a: 1 }, { a: '1' })).toBe(false);
    expect(deepEqual([], {})).toBe(false);
    expect(deepEqual(null, {})).toBe(false);
  });
});
