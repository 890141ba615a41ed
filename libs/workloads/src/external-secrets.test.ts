/**
 * The External Secrets Operator's objects: a store with keys, a role or neither; an ExternalSecret
 * pinned to a version id; and an app's secrets with one kept in Secrets
 * Manager (an ExternalSecret, never a Secret with the value; the checksum follows the version id).
 */
import { clusterSecretStoreManifest } from './external-secrets.js';
import { withSecrets, type SecretDelivery } from './secret-deliveries.js';
import type { KubeManifest } from './workload-types.js';

const deployment: KubeManifest = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } } },
};
const remote = (versionId: string): SecretDelivery => ({ secret: 'api-key', key: 'API_KEY', external: { store: 'tugboat-aws', remoteKey: 'tugboat/shop/api-key', versionId }, version: versionId, as: 'env', mountPath: '/unused' });
const checksumOf = (objects: KubeManifest[]) => (objects.find((object) => object.kind === 'Deployment')!.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations['tugboat.dev/secrets-checksum'];

describe('External Secrets Operator objects', () => {
  it('writes a store that signs in with the account key, assumes its role, or uses the operator\'s own identity', () => {
    const keyed = clusterSecretStoreManifest('aws', 'eu-west-1', { withKeys: true, roleArn: 'arn:aws:iam::123456789012:role/reader', externalId: 'tugboat' }, {});
    expect(keyed).toMatchObject({
      apiVersion: 'external-secrets.io/v1beta1',
      kind: 'ClusterSecretStore',
      metadata: { name: 'tugboat-aws' },
      spec: {
        provider: {
          aws: {
            service: 'SecretsManager',
            region: 'eu-west-1',
            role: 'arn:aws:iam::123456789012:role/reader',
            externalID: 'tugboat',
            auth: { secretRef: { accessKeyIDSecretRef: { name: 'tugboat-aws-aws', key: 'access-key-id', namespace: 'external-secrets' }, secretAccessKeySecretRef: { name: 'tugboat-aws-aws', key: 'secret-access-key', namespace: 'external-secrets' } } },
          },
        },
      },
    });
    expect(clusterSecretStoreManifest('aws', 'eu-west-1', { withKeys: false }, {}).spec).toEqual({ provider: { aws: { service: 'SecretsManager', region: 'eu-west-1' } } });
  });

  it('gives an app an ExternalSecret pinned to the version instead of a Secret, and a checksum that follows the version', () => {
    const first = withSecrets([deployment], [remote('v-1')], { 'tugboat.dev/instance': 'web' });
    expect(first.map((object) => object.kind)).toEqual(['ExternalSecret', 'Deployment']);
    expect(first[0]).toMatchObject({
      metadata: { name: 'tugboat-secret-api-key', labels: { 'tugboat.dev/instance': 'web' } },
      spec: { refreshInterval: '1h', secretStoreRef: { kind: 'ClusterSecretStore', name: 'tugboat-aws' }, target: { name: 'tugboat-secret-api-key', creationPolicy: 'Owner' }, data: [{ secretKey: 'API_KEY', remoteRef: { key: 'tugboat/shop/api-key', version: 'uuid/v-1' } }] },
    });
    const env = (first[1]!.spec as { template: { spec: { containers: Array<{ env: unknown[] }> } } }).template.spec.containers[0]!.env;
    expect(env).toEqual([{ name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'tugboat-secret-api-key', key: 'API_KEY' } } }]);
    const second = withSecrets([deployment], [remote('v-2')], {});
    expect(checksumOf(second)).not.toBe(checksumOf(first));
    expect(checksumOf(withSecrets([deployment], [remote('v-1')], {}))).toBe(checksumOf(first));
  });
});
