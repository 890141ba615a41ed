export { imageRegistry, normalizeRegistry, withTag } from './image-reference.js';
export { containersOf, groupOf, podSpecOf } from './pod-templates.js';
export { derivedNamespace, effectiveImage, instanceLabels, manifestObjects, renderWorkload, serviceMonitor, type RenderInput } from './render-workload.js';
export { definitionViolations, describeObject, instanceViolations, manifestViolations, MAX_MANIFEST_DOCUMENTS, renderedViolations } from './workload-rules.js';
export { MAX_VALUES_DEPTH, MAX_VALUES_LEAVES, mergeValues, valuesOverrideViolations } from './chart-values.js';
export {
  EXPOSURE_LABELS,
  LABELS,
  MANAGED_BY,
  OVERRIDABLE,
  WORKLOAD_FIELD_MANAGER,
  type ContainerPort,
  type ContainerResources,
  type ContainerSource,
  type ExposureSpec,
  type HelmSource,
  type WorkloadExposure,
  type WorkloadMetrics,
  type KubeManifest,
  type Overridable,
  type Probe,
  type ResourceQuantities,
  type Violation,
  type WorkloadDefinitionSpec,
  type WorkloadInstanceSpec,
  type WorkloadOverrides,
} from './workload-types.js';
export { connectionUrl, databaseSecretName, DATABASES_CHECKSUM_ANNOTATION, withDatabaseConnections, type DatabaseConnection } from './database-connections.js';
export { defaultSecretMountPath, deliveredSecretName, SECRETS_CHECKSUM_ANNOTATION, withSecrets, type SecretDelivery } from './secret-deliveries.js';
export {
  clusterSecretStoreManifest,
  clusterSecretStoreName,
  EXTERNAL_SECRETS_API,
  EXTERNAL_SECRETS_NAMESPACE,
  externalSecretManifest,
  externalSecretsReady,
  storeCredentialsManifest,
  storeCredentialsName,
  type ExternalSecretSource,
  type StoreAuth,
} from './external-secrets.js';
