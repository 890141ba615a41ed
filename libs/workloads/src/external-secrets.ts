/**
 * The External Secrets Operator's objects Tugboat writes for a secret kept in AWS Secrets Manager,
 * shared by the two controllers that write them: the support-services-controller installs the
 * operator on a cluster and writes one `ClusterSecretStore` per SecretDefinition
 * (`tugboat-<definition>`, with the definition's account credentials in a Secret beside the
 * operator); the workload-controller writes one `ExternalSecret` per secret in each app's namespace,
 * pinned to the Secrets Manager version the SecretInstance's status reports, and the operator (never
 * Tugboat) writes the Kubernetes Secret the app reads.
 *
 * `external-secrets.io/v1beta1`: served by the pinned chart (0.16.2, which serves v1 as well); a
 * chart from 0.17 on serves only v1.
 */
import type { KubeManifest } from './workload-types.js';

export const EXTERNAL_SECRETS_API = 'external-secrets.io/v1beta1';
/** Where the operator runs, and where the stores' credentials Secrets are (a ClusterSecretStore names their namespace). */
export const EXTERNAL_SECRETS_NAMESPACE = 'external-secrets';
/** How often the operator reads the pinned version again (a Secret edited by hand is put back then). */
export const EXTERNAL_SECRET_REFRESH = '1h';

/** The cluster-wide store of a SecretDefinition's secrets. */
export const clusterSecretStoreName = (definition: string) => `tugboat-${definition}`;
/** The Secret holding the definition's account credentials for its store. */
export const storeCredentialsName = (definition: string) => `tugboat-${definition}-aws`;
export const STORE_ACCESS_KEY_ID = 'access-key-id';
export const STORE_SECRET_ACCESS_KEY = 'secret-access-key';

/** Where an `ExternalSecret` reads one value from: the store, the AWS secret's name, and the pinned version id. */
export interface ExternalSecretSource {
  store: string;
  remoteKey: string;
  versionId: string;
}

/** The ExternalSecret `name` an app's namespace gets for one secret: its target, of the same name, is the Secret the pods read, owned by it. */
export function externalSecretManifest(name: string, key: string, source: ExternalSecretSource, labels: Record<string, string>): KubeManifest {
  return {
    apiVersion: EXTERNAL_SECRETS_API,
    kind: 'ExternalSecret',
    metadata: { name, labels: { ...labels } },
    spec: {
      refreshInterval: EXTERNAL_SECRET_REFRESH,
      secretStoreRef: { kind: 'ClusterSecretStore', name: source.store },
      target: { name, creationPolicy: 'Owner' },
      // `uuid/<id>` is how the operator's AWS provider reads a version id (anything else is a stage).
      data: [{ secretKey: key, remoteRef: { key: source.remoteKey, version: `uuid/${source.versionId}` } }],
    },
  };
}

/** How a store signs in to AWS: keys from the credentials Secret, a role to assume, or neither (the operator's own identity). */
export interface StoreAuth {
  /** The definition's account has an access key: its Secret is named here. */
  withKeys: boolean;
  roleArn?: string;
  externalId?: string;
}

/** The ClusterSecretStore of a SecretDefinition: Secrets Manager in its region, with its account. */
export function clusterSecretStoreManifest(definition: string, region: string, auth: StoreAuth, labels: Record<string, string>): KubeManifest {
  const ref = (key: string) => ({ name: storeCredentialsName(definition), key, namespace: EXTERNAL_SECRETS_NAMESPACE });
  return {
    apiVersion: EXTERNAL_SECRETS_API,
    kind: 'ClusterSecretStore',
    metadata: { name: clusterSecretStoreName(definition), labels: { ...labels } },
    spec: {
      provider: {
        aws: {
          service: 'SecretsManager',
          region,
          ...(auth.roleArn === undefined ? {} : { role: auth.roleArn }),
          ...(auth.externalId === undefined ? {} : { externalID: auth.externalId }),
          ...(auth.withKeys ? { auth: { secretRef: { accessKeyIDSecretRef: ref(STORE_ACCESS_KEY_ID), secretAccessKeySecretRef: ref(STORE_SECRET_ACCESS_KEY) } } } : {}),
        },
      },
    },
  };
}

/** The Secret with the account's access key a store reads. */
export function storeCredentialsManifest(definition: string, accessKeyId: string, secretAccessKey: string, labels: Record<string, string>): KubeManifest {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: storeCredentialsName(definition), namespace: EXTERNAL_SECRETS_NAMESPACE, labels: { ...labels } },
    type: 'Opaque',
    stringData: { [STORE_ACCESS_KEY_ID]: accessKeyId, [STORE_SECRET_ACCESS_KEY]: secretAccessKey },
  };
}

interface KubeCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** The `Ready` condition of an operator object (store or ExternalSecret), as it reported it. */
export function externalSecretsReady(object: unknown): KubeCondition | undefined {
  const conditions = (object as { status?: { conditions?: KubeCondition[] } } | undefined)?.status?.conditions;
  return Array.isArray(conditions) ? conditions.find((condition) => condition.type === 'Ready') : undefined;
}
