/** Test helpers for packages that run their tests against a sandbox (`@tugboat/sandbox/testing`). */
export { createEksPrerequisites, trustPolicyFor, type EksPrerequisites, type EksPrerequisitesOptions } from './test-support/eks-prerequisites.js';
export {
  addOnDeployment,
  certManagerCrds,
  certManagerDeployments,
  envoyGatewayDeployment,
  externalSecretsCrds,
  externalSecretsDeployments,
  gatewayApiCrds,
  prometheusOperatorCrds,
  prometheusOperatorDeployment,
} from './test-support/add-on-fixtures.js';
export { chartMirrors, chartPlainHttpHosts, STANDIN_CHARTS, type StandinChart } from './charts/standin-charts.js';
export { startTestSandbox, waitFor, type TestSandbox } from './test-support/start-test-sandbox.js';
