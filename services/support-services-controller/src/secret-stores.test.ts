/** A store's state in words an operator acts on, from the operator's own condition. */
import type { KubernetesObject } from '@tugboat/kube';
import { storeState } from './secret-stores.js';

const store = (conditions: unknown[] | undefined): KubernetesObject => ({ apiVersion: 'external-secrets.io/v1beta1', kind: 'ClusterSecretStore', metadata: { name: 'tugboat-aws' }, ...(conditions ? { status: { conditions } } : {}) }) as KubernetesObject;

describe('storeState', () => {
  it('is ready when the operator validated the store', () => {
    expect(storeState(store([{ type: 'Ready', status: 'True', reason: 'Valid', message: 'store validated' }]), 'tugboat-aws', 'prod')).toEqual({ ready: true, reason: 'StoreReady', message: 'ClusterSecretStore tugboat-aws on cluster prod is ready' });
  });
  it('waits for a first validation, and says what the operator said about a refused one, with what to check', () => {
    expect(storeState(store(undefined), 'tugboat-aws', 'prod')).toMatchObject({ ready: false, reason: 'StoreNotValidated', message: expect.stringContaining('not validated by the External Secrets Operator yet') });
    const refused = storeState(store([{ type: 'Ready', status: 'False', reason: 'InvalidProviderConfig', message: 'unable to validate store: UnrecognizedClientException' }]), 'tugboat-aws', 'prod');
    expect(refused).toEqual({
      ready: false,
      reason: 'InvalidProviderConfig',
      message: "ClusterSecretStore tugboat-aws on cluster prod is not ready: unable to validate store: UnrecognizedClientException: check the SecretDefinition's region and its AwsAccount's credentials (they must be allowed to call Secrets Manager)",
    });
  });
});
