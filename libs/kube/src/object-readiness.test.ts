import type { KubernetesObject } from '@kubernetes/client-node';
import { externalSecretSynced, labelSelectorQuery, objectReadiness, stuckPods } from './object-readiness.js';

const object = (kind: string, fields: Record<string, unknown>, generation = 2): KubernetesObject =>
  ({ apiVersion: 'v1', kind, metadata: { name: 'web', namespace: 'ns', generation }, ...fields }) as KubernetesObject;

describe('objectReadiness', () => {
  it('calls a Deployment ready only when rolled out at its generation and available', () => {
    const rolledOut = { observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2, conditions: [{ type: 'Available', status: 'True' }] };
    expect(objectReadiness(object('Deployment', { spec: { replicas: 2 }, status: rolledOut }))).toMatchObject({ ready: true, reason: 'Available' });
    expect(objectReadiness(object('Deployment', { spec: { replicas: 2 }, status: { ...rolledOut, observedGeneration: 1 } }))).toMatchObject({ ready: false, reason: 'RollingOut' });
    expect(objectReadiness(object('Deployment', { spec: { replicas: 3 }, status: rolledOut })).message).toBe('2 of 3 new replicas updated');
    expect(objectReadiness(object('Deployment', { spec: { replicas: 2 }, status: { ...rolledOut, replicas: 3 } })).message).toBe('1 old replicas pending termination');
    expect(objectReadiness(object('Deployment', { spec: { replicas: 2 }, status: { ...rolledOut, availableReplicas: 1 } })).ready).toBe(false);
    const stalled = { ...rolledOut, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "web-1" has timed out progressing.' }] };
    expect(objectReadiness(object('Deployment', { spec: { replicas: 2 }, status: stalled }))).toEqual({
      ready: false,
      failed: true,
      reason: 'ProgressDeadlineExceeded',
      message: 'ReplicaSet "web-1" has timed out progressing.',
    });
    // Scaled to zero is ready.
    expect(objectReadiness(object('Deployment', { spec: { replicas: 0 }, status: { observedGeneration: 2 } })).ready).toBe(true);
  });

  it('reads StatefulSets, DaemonSets, Jobs, Services, claims, and anything else as existing', () => {
    expect(objectReadiness(object('StatefulSet', { spec: { replicas: 2 }, status: { observedGeneration: 2, readyReplicas: 2, updatedReplicas: 2, currentRevision: 'a', updateRevision: 'a' } })).ready).toBe(true);
    expect(objectReadiness(object('StatefulSet', { spec: { replicas: 2 }, status: { observedGeneration: 2, readyReplicas: 2, updatedReplicas: 2, currentRevision: 'a', updateRevision: 'b' } })).ready).toBe(false);
    expect(objectReadiness(object('DaemonSet', { status: { observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 } })).ready).toBe(true);
    expect(objectReadiness(object('DaemonSet', { status: { observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 } })).ready).toBe(false);
    expect(objectReadiness(object('Job', { status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] } }))).toMatchObject({ ready: true, reason: 'Complete' });
    expect(objectReadiness(object('Job', { status: { active: 1 } }))).toMatchObject({ ready: false, reason: 'Running' });
    expect(objectReadiness(object('Job', { status: { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }] } }))).toMatchObject({
      ready: false,
      failed: true,
      reason: 'BackoffLimitExceeded',
    });
    const service = object('Service', { spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
    expect(objectReadiness(service)).toMatchObject({ ready: false, reason: 'NoReadyEndpoints' });
    expect(objectReadiness(service, { endpoints: { subsets: [{ notReadyAddresses: [{ ip: '10.0.0.1' }] }] } as KubernetesObject }).ready).toBe(false);
    expect(objectReadiness(service, { endpoints: { subsets: [{ addresses: [{ ip: '10.0.0.1' }] }] } as KubernetesObject })).toMatchObject({ ready: true, reason: 'EndpointsReady' });
    expect(objectReadiness(object('Service', { spec: { ports: [{ port: 80 }] } })).ready).toBe(true);
    expect(objectReadiness(object('PersistentVolumeClaim', { status: { phase: 'Pending' } }))).toMatchObject({ ready: false, reason: 'Pending' });
    expect(objectReadiness(object('PersistentVolumeClaim', { status: { phase: 'Bound' } })).ready).toBe(true);
    expect(objectReadiness(object('ConfigMap', {}))).toMatchObject({ ready: true, reason: 'Exists' });
  });
});

describe('stuckPods', () => {
  const pod = (name: string, waiting?: { reason: string; message?: string }) =>
    ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      status: { containerStatuses: [{ name: 'app', image: 'registry.example/doesnotexist:1', state: waiting ? { waiting } : { running: {} } }] },
    }) as KubernetesObject;

  it('names the pod, the container, the image and the kubelet reason for states waiting will not fix', () => {
    expect(stuckPods([pod('a'), pod('b', { reason: 'ContainerCreating' })])).toBeUndefined();
    expect(stuckPods([pod('a'), pod('b', { reason: 'ImagePullBackOff', message: 'Back-off pulling image' })])).toEqual({
      ready: false,
      failed: true,
      reason: 'ImagePullBackOff',
      message: 'pod b container app (image registry.example/doesnotexist:1) is in ImagePullBackOff: Back-off pulling image',
    });
    expect(stuckPods([pod('c', { reason: 'CrashLoopBackOff' })])?.reason).toBe('CrashLoopBackOff');
    expect(stuckPods([pod('d', { reason: 'ErrImagePull' })])?.reason).toBe('ErrImagePull');
  });
});

describe('labelSelectorQuery', () => {
  it('writes matchLabels and matchExpressions as the labelSelector parameter', () => {
    expect(labelSelectorQuery({ matchLabels: { app: 'web' } }, { 'pod-template-hash': 'abc' })).toBe('app=web,pod-template-hash=abc');
    expect(
      labelSelectorQuery({
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['a', 'b'] },
          { key: 'x', operator: 'NotIn', values: ['c'] },
          { key: 'y', operator: 'Exists' },
          { key: 'z', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('tier in (a,b),x notin (c),y,!z');
    expect(labelSelectorQuery(undefined)).toBeUndefined();
    expect(labelSelectorQuery({ matchExpressions: [{ key: 'a', operator: 'Gt' }] })).toBeUndefined();
  });
});

describe('a Prometheus Operator resource', () => {
  const prometheus = (status: Record<string, unknown> | undefined, generation = 2) =>
    ({ apiVersion: 'monitoring.coreos.com/v1', kind: 'Prometheus', metadata: { name: 'p', namespace: 'ns', generation }, ...(status ? { status } : {}) }) as KubernetesObject;

  it('is ready when the operator reports it Available at its generation, and says why not otherwise', () => {
    expect(objectReadiness(prometheus(undefined))).toMatchObject({ ready: false, reason: 'NotReconciled' });
    expect(objectReadiness(prometheus({ availableReplicas: 1, conditions: [{ type: 'Available', status: 'True', observedGeneration: 2 }] }))).toMatchObject({ ready: true, reason: 'Available' });
    expect(objectReadiness(prometheus({ conditions: [{ type: 'Available', status: 'True', observedGeneration: 1 }] }))).toMatchObject({ ready: false, reason: 'RollingOut' });
    expect(objectReadiness(prometheus({ conditions: [{ type: 'Available', status: 'False', reason: 'NoPodReady', message: 'shard 0: pod prometheus-p-0: 0/2 nodes are available' }] }))).toEqual({
      ready: false,
      reason: 'NoPodReady',
      message: 'shard 0: pod prometheus-p-0: 0/2 nodes are available',
    });
  });

  it('of another group is only checked for existence', () => {
    expect(objectReadiness({ apiVersion: 'example.com/v1', kind: 'Prometheus', metadata: { name: 'p' } } as KubernetesObject)).toMatchObject({ ready: true, reason: 'Exists' });
  });
});

describe('an External Secrets Operator ExternalSecret', () => {
  it('takes an ExternalSecret for synced only when Ready at its current generation', () => {
    const at = (generation: number, status: Record<string, unknown>) => ({ metadata: { generation }, status });
    expect(externalSecretSynced(at(2, {}))).toMatchObject({ synced: false, reason: 'Pending' });
    expect(externalSecretSynced(at(2, { conditions: [{ type: 'Ready', status: 'False', reason: 'SecretSyncedError', message: 'could not get secret data from provider' }] }))).toEqual({ synced: false, reason: 'SecretSyncedError', message: 'could not get secret data from provider' });
    expect(externalSecretSynced(at(2, { conditions: [{ type: 'Ready', status: 'True' }], syncedResourceVersion: '1-abc' }))).toMatchObject({ synced: false, reason: 'Syncing' });
    expect(externalSecretSynced(at(2, { conditions: [{ type: 'Ready', status: 'True' }], syncedResourceVersion: '2-abc' }))).toEqual({ synced: true });
  });
  it('is ready as an applied object once synced at its generation', () => {
    const synced = { status: { conditions: [{ type: 'Ready', status: 'True' }], syncedResourceVersion: '2-abc' } };
    expect(objectReadiness(object('ExternalSecret', synced))).toMatchObject({ ready: true, reason: 'SecretSynced' });
    expect(objectReadiness(object('ExternalSecret', synced, 3))).toMatchObject({ ready: false, reason: 'Syncing' });
  });
});
