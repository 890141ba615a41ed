export { createKubeSimulator } from './kube-simulator.js';
export type { AddClusterOptions, ClusterInfo, KubeSimulator, KubeSimulatorOptions, KubeSimulatorSnapshot, SimulatedNode } from './kube-simulator.js';
export type { KubeRequestHandler } from './kube-handler.js';
export type { WorkloadTimings } from './workload-simulation.js';
export { KubeStatusError, isKubeStatusError } from './kube-status.js';
export type { KubeStatus } from './kube-status.js';
export type { TlsCredentials } from './tls-credentials.js';
export { CRASHING_IMAGE_MARKER, DEFAULT_TIMINGS, FAILING_IMAGE_MARKER } from './workload-simulation.js';
