/**
 * An app's secrets, as its pods see them: one Secret per SecretInstance in the app's namespace
 * (`tugboat-secret-<name>`, the value under its key), reaching every container as the environment
 * variable the key names (`as: env`) or as the file `<mountPath>/<key>` (`as: file`), and a checksum
 * annotation on each pod template, made of the secrets' versions (never their values), so a
 * changed value rolls the pods.
 *
 * A secret kept in AWS Secrets Manager (`external`) gets an `ExternalSecret` of the same name
 * instead: the External Secrets Operator writes the Secret, and Tugboat never holds the value; its
 * version is the Secrets Manager version id the ExternalSecret is pinned to.
 */
import { createHash } from 'node:crypto';
import { externalSecretManifest, type ExternalSecretSource } from './external-secrets.js';
import { annotatePodTemplate, containersOf, podSpecOf } from './pod-templates.js';
import type { KubeManifest } from './workload-types.js';

export interface SecretDelivery {
  /** The SecretInstance's name (the Kubernetes Secret is named after it). */
  secret: string;
  key: string;
  /** The value Tugboat writes into the Secret; absent for an `external` one. */
  value?: string;
  /** Kept in AWS Secrets Manager: the operator reads it from here into the Secret. */
  external?: ExternalSecretSource;
  /** Changes whenever the value does (the generation, or the Secrets Manager version id): what the checksum follows. */
  version: string;
  as: 'env' | 'file';
  /** The directory of the file (`as: file`). */
  mountPath: string;
}

/** The annotation on pod templates whose change rolls the pods. */
export const SECRETS_CHECKSUM_ANNOTATION = 'tugboat.dev/secrets-checksum';

/** The Kubernetes Secret holding a SecretInstance's value in an app's namespace. */
export const deliveredSecretName = (secret: string) => `tugboat-secret-${secret}`;

/** Where `as: file` puts a secret when the app names no `mountPath`. */
export const defaultSecretMountPath = (secret: string) => `/var/run/secrets/tugboat/${secret}`;

const b64 = (value: string) => Buffer.from(value, 'utf8').toString('base64');

/** The objects with a Secret per delivery added, and every pod template wired to them. New objects: the input is not changed. */
export function withSecrets(objects: readonly KubeManifest[], deliveries: readonly SecretDelivery[], labels: Record<string, string>): KubeManifest[] {
  if (deliveries.length === 0) return [...objects];
  const sorted = [...deliveries].sort((a, b) => a.secret.localeCompare(b.secret));
  const checksum = createHash('sha256')
    .update(JSON.stringify(sorted.map(({ value: _value, ...rest }) => rest)))
    .digest('hex')
    .slice(0, 32);
  const secrets: KubeManifest[] = sorted.map((delivery) =>
    delivery.external !== undefined
      ? externalSecretManifest(deliveredSecretName(delivery.secret), delivery.key, delivery.external, labels)
      : { apiVersion: 'v1', kind: 'Secret', metadata: { name: deliveredSecretName(delivery.secret), labels: { ...labels } }, type: 'Opaque', data: { [delivery.key]: b64(delivery.value ?? '') } },
  );
  const env = sorted.filter((d) => d.as === 'env').map((d) => ({ name: d.key, valueFrom: { secretKeyRef: { name: deliveredSecretName(d.secret), key: d.key } } }));
  const files = sorted.filter((d) => d.as === 'file');
  const volumeName = (secret: string) => `tugboat-secret-${createHash('sha256').update(secret).digest('hex').slice(0, 10)}`;
  const wired = objects.map((original) => {
    const object = structuredClone(original) as KubeManifest;
    const podSpec = podSpecOf(object);
    if (podSpec === undefined) return object;
    for (const container of [...containersOf(podSpec), ...containersOf(podSpec, 'initContainers')]) {
      if (env.length > 0) {
        const replaced = new Set(env.map((entry) => entry.name));
        const given = Array.isArray(container['env']) ? (container['env'] as Array<Record<string, unknown>>) : [];
        container['env'] = [...given.filter((entry) => !replaced.has(String(entry['name']))), ...env];
      }
      if (files.length > 0) {
        const given = Array.isArray(container['volumeMounts']) ? container['volumeMounts'] : [];
        container['volumeMounts'] = [...given, ...files.map((d) => ({ name: volumeName(d.secret), mountPath: d.mountPath, readOnly: true }))];
      }
    }
    if (files.length > 0) {
      const given = Array.isArray(podSpec['volumes']) ? podSpec['volumes'] : [];
      podSpec['volumes'] = [...given, ...files.map((d) => ({ name: volumeName(d.secret), secret: { secretName: deliveredSecretName(d.secret) } }))];
    }
    annotatePodTemplate(object, SECRETS_CHECKSUM_ANNOTATION, checksum);
    return object;
  });
  return [...secrets, ...wired];
}
