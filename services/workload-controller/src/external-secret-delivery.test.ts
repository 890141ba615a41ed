/** Where an app's ExternalSecret reads from, or why it waits; and when its Secret counts as written. */
import type { KubernetesObject } from '@tugboat/kube';
import type { Resource, ResourceStatus } from '@tugboat/resource-model';
import { externalSecretWaiting, externalSource } from './external-secret-delivery.js';

const secret = (generation: number, status: ResourceStatus): Resource<unknown, ResourceStatus> =>
  ({ kind: 'SecretInstance', metadata: { name: 'api-key', project: 'shop', generation }, spec: {}, status }) as unknown as Resource<unknown, ResourceStatus>;
const outputs = { backend: 'aws-secrets-manager', secretName: 'tugboat/shop/api-key', versionId: 'v-2', version: '2' };

describe('externalSource', () => {
  it('waits for the version of the current generation, naming the secret and what its status says', () => {
    const stale = externalSource(secret(3, { phase: 'Progressing', observedGeneration: 3, outputs, conditions: [{ type: 'Ready', status: 'False', reason: 'AccountNotReady', message: 'AwsAccount main is Pending' }] }), 'prod');
    expect(stale).toEqual({ reason: 'SecretNotStored', waiting: 'SecretInstance api-key is not written to AWS Secrets Manager at generation 3 yet (AccountNotReady: AwsAccount main is Pending)' });
  });
  it('waits for the store on the app\'s cluster, in the support-services-controller\'s words', () => {
    expect(externalSource(secret(2, { phase: 'Ready', observedGeneration: 2, outputs }), 'prod')).toMatchObject({ reason: 'SecretStoreNotReady', waiting: expect.stringContaining('on cluster prod is not set up yet') });
    const down = { cluster: 'prod', store: 'tugboat-aws', ready: false, message: 'ClusterSecretStore tugboat-aws on cluster prod is not ready: unable to validate store' };
    expect(externalSource(secret(2, { phase: 'Progressing', observedGeneration: 2, outputs, stores: [down] }), 'prod')).toEqual({ reason: 'SecretStoreNotReady', waiting: `SecretInstance api-key: ${down.message}` });
  });
  it('reads the pinned version through the cluster\'s store once both are there', () => {
    const stores = [{ cluster: 'dev', store: 'tugboat-aws', ready: false }, { cluster: 'prod', store: 'tugboat-aws', ready: true }];
    expect(externalSource(secret(2, { phase: 'Progressing', observedGeneration: 2, outputs, stores }), 'prod')).toEqual({ source: { store: 'tugboat-aws', remoteKey: 'tugboat/shop/api-key', versionId: 'v-2' } });
  });
});

describe('externalSecretWaiting', () => {
  const external = (status: Record<string, unknown>) => ({ apiVersion: 'external-secrets.io/v1beta1', kind: 'ExternalSecret', metadata: { name: 'tugboat-secret-api-key', generation: 2 }, spec: { data: [{ secretKey: 'API_KEY' }] }, status }) as unknown as KubernetesObject;
  const synced = { conditions: [{ type: 'Ready', status: 'True' }], syncedResourceVersion: '2-abc' };
  it('quotes the operator until it synced this generation, and waits for the Secret with the key', () => {
    expect(externalSecretWaiting(external({ conditions: [{ type: 'Ready', status: 'False', reason: 'SecretSyncedError', message: 'could not get secret data from provider' }] }), undefined, 'api-key', 'prod')).toBe(
      'SecretInstance api-key on cluster prod: the External Secrets Operator says: could not get secret data from provider',
    );
    expect(externalSecretWaiting(external(synced), undefined, 'api-key', 'prod')).toBe('SecretInstance api-key on cluster prod: the External Secrets Operator has not written Secret tugboat-secret-api-key yet');
    expect(externalSecretWaiting(external(synced), { apiVersion: 'v1', kind: 'Secret', data: { API_KEY: 'eA==' } } as KubernetesObject, 'api-key', 'prod')).toBeUndefined();
  });
});
