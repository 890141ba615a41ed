export {
  createSandboxServer,
  DEFAULT_ACCOUNT_ID,
  DEFAULT_PORT,
  DEFAULT_REGION,
  LOCAL_CLUSTER,
  TEST_CREDENTIALS,
  type ClusterRegistryDependencies,
  type SandboxEndpoints,
  type SandboxServer,
  type SandboxServerOptions,
} from './sandbox-server.js';
export type { ClusterRegistry, KubeNode, KubeClusterSummary } from './cluster-registry.js';
export { createAwsOperationRegistry, type AwsOperation, type AwsOperationContext, type AwsOperationRegistry, type AwsProtocolName } from './aws/aws-operation.js';
export { AwsError } from './aws/aws-error.js';
export type { StaticCredential, CredentialStore } from './aws/credential-store.js';
export { kubeClusterNameOf } from './aws/eks/eks-simulator.js';
export { EC2_COUNTER_TYPES, type Ec2Durations, type Ec2Simulator } from './aws/ec2/ec2-simulator.js';
export { RDS_COUNTER_TYPES, sha256 as rdsPasswordSha256, type RdsDurations, type RdsSimulator } from './aws/rds/rds-simulator.js';
export { RDS_ENGINES, RDS_INSTANCE_CLASSES, RDS_STORAGE } from './aws/rds/rds-engines.js';
export { SECRET_COUNTER_TYPE, type SecretsManagerSimulator } from './aws/secretsmanager/secrets-manager-simulator.js';
export {
  DEFAULT_ROUTE53_DURATIONS,
  ROUTE53_COUNTER_TYPES,
  type Route53Durations,
  type Route53Simulator,
} from './aws/route53/route53-simulator.js';
export type { FaultRule, FaultInjector } from './fault-injector.js';
export type { SimClock } from './sim-clock.js';
export type { SandboxCounters } from './counters.js';
export { parseSandboxArgs, SANDBOX_USAGE, type SandboxArgs } from './sandbox-args.js';
export {
  CERT_MANAGER_DEPLOYMENT,
  CREATED_BY_LABEL,
  EXTERNAL_SECRETS_DEPLOYMENT,
  ENVOY_GATEWAY_CONTROLLER,
  ENVOY_GATEWAY_DEPLOYMENT,
  OWNING_GATEWAY_NAME,
  OWNING_GATEWAY_NAMESPACE,
  envoyServiceName,
  createRoute53Dns01Solver,
  Dns01Error,
  type Dns01Solver,
  createSecretsManagerReader,
  type SecretsManagerReader,
  DEFAULT_ALERTMANAGER_VERSION,
  DEFAULT_PROMETHEUS_VERSION,
  PROMETHEUS_OPERATOR_COMPONENT,
  type PrometheusTarget,
  type PrometheusTargets,
} from './kube/index.js';
export {
  STANDIN_CHARTS,
  STANDIN_HTTP_REPOSITORIES,
  STANDIN_OCI_NAMESPACES,
  chartMirrors,
  chartPlainHttpHosts,
  type StandinChart,
  type StandinHttpRepository,
  type StandinOciNamespace,
} from './charts/standin-charts.js';
export { createChartRepository, type ChartRepository, type ChartRepositoryOptions } from './charts/chart-repository.js';
