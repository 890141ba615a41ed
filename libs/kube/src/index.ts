export { createClusterConnections } from './cluster-connections.js';
export type {
  ApplyOptions,
  ClusterConnection,
  ClusterConnectionInput,
  ClusterConnections,
  ClusterConnectionsOptions,
  EnsuredNamespace,
  KubeRequestOptions,
  ListOptions,
  NodeSummary,
  ObjectIdentity,
  ServerVersion,
} from './cluster-connections.js';
export { classifyKubeError, isKubeClusterError, KubeClusterError } from './kube-cluster-error.js';
export type { ClassifyOptions, KubeClusterErrorOptions, KubeFailureReason } from './kube-cluster-error.js';
export type { KubernetesObject } from '@kubernetes/client-node';
export { currentPods, externalSecretSynced, labelSelectorQuery, liveReadiness, objectReadiness, POD_CONTROLLERS, stuckPods } from './object-readiness.js';
export type { LabelSelector, Readiness, ReadinessContext } from './object-readiness.js';
