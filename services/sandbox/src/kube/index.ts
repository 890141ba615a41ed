export { createKubeSimulator } from './kube-simulator.js';
export type { AddClusterOptions, ClusterInfo, KubeSimulator, KubeSimulatorOptions, KubeSimulatorSnapshot, SimulatedNode } from './kube-simulator.js';
export type { KubeRequestHandler } from './kube-handler.js';
export type { WorkloadTimings } from './workload-simulation.js';
export { KubeStatusError, isKubeStatusError } from './kube-status.js';
export type { KubeStatus } from './kube-status.js';
export type { TlsCredentials } from './tls-credentials.js';
export { CRASHING_IMAGE_MARKER, DEFAULT_TIMINGS, FAILING_IMAGE_MARKER } from './workload-simulation.js';
export { createRoute53Dns01Solver, Dns01Error } from './dns01-solver.js';
export type { AwsCredentials, Dns01Challenge, Dns01Context, Dns01Solver, Route53SolverConfig } from './dns01-solver.js';
export { ENVOY_GATEWAY_CONTROLLER, ENVOY_GATEWAY_DEPLOYMENT, OWNING_GATEWAY_NAME, OWNING_GATEWAY_NAMESPACE, envoyServiceName } from './gateway-simulation.js';
export { CERT_MANAGER_DEPLOYMENT } from './cert-manager-simulation.js';
export { CREATED_BY_LABEL, EXTERNAL_SECRETS_DEPLOYMENT } from './external-secrets-simulation.js';
export { createSecretsManagerReader, SecretsManagerReadError } from './secrets-manager-reader.js';
export type { SecretsManagerReader } from './secrets-manager-reader.js';
export {
  DEFAULT_ALERTMANAGER_VERSION,
  DEFAULT_PROMETHEUS_VERSION,
  PROMETHEUS_OPERATOR_COMPONENT,
  labelSelectorMatches,
  prometheusTargets,
  type PrometheusTarget,
  type PrometheusTargets,
} from './prometheus-operator-simulation.js';
