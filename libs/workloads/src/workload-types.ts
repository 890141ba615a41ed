/**
 * The shapes of the workload kinds as the API stores them (after schema validation) and the
 * constants shared by the API (admission) and the workload-controller (rendering, labels).
 */

/** The server-side apply field manager of the workload-controller: never shared with another controller. */
export const WORKLOAD_FIELD_MANAGER = 'tugboat-workload';

/** Labels on every object Tugboat applies for an instance. */
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  instanceUid: 'tugboat.dev/instance-uid',
  instance: 'tugboat.dev/instance',
  project: 'tugboat.dev/project',
  /** On a namespace Tugboat created: the uid of the instance it belongs to (and is deleted with). */
  namespaceOwner: 'tugboat.dev/namespace-owner',
} as const;

export const MANAGED_BY = 'tugboat';

/** What an instance may override, when its definition lists it in `overridable`. */
export const OVERRIDABLE = ['image', 'imageTag', 'replicas', 'env', 'resources', 'command', 'args'] as const;
export type Overridable = (typeof OVERRIDABLE)[number];

export interface ResourceQuantities {
  cpu?: string;
  memory?: string;
}

export interface ContainerResources {
  requests?: ResourceQuantities;
  limits?: ResourceQuantities;
}

export interface Probe {
  httpGet?: { path: string; port: number };
  tcpSocket?: { port: number };
  initialDelaySeconds?: number;
  periodSeconds?: number;
}

export interface ContainerPort {
  name?: string;
  port: number;
  protocol?: 'TCP' | 'UDP';
}

/** A WorkloadDefinition's container source: rendered into a ServiceAccount, a Deployment and a Service. */
export interface ContainerSource {
  /** Absent when every instance brings its own (then `image` is overridable). */
  image?: string;
  command?: string[];
  args?: string[];
  ports?: ContainerPort[];
  env?: Record<string, string>;
  resources?: ContainerResources;
  /** Default 1. */
  replicas?: number;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}

/** A Helm chart source: rendered with `helm template` by the workload-controller (`@tugboat/helm`). */
export interface HelmSource {
  /** `https://…` (a chart repository) or `oci://host/path` (a registry). */
  repository: string;
  chart: string;
  /** Exact. */
  version: string;
  values?: Record<string, unknown>;
  /** The value paths (and everything under them) an instance may set in `overrides.values`. */
  overridableValues?: string[];
}

export interface WorkloadDefinitionSpec {
  description?: string;
  /** Exactly one of `container`, `manifests` and `helm`. */
  container?: ContainerSource;
  /** Multi-document Kubernetes YAML, parsed by the caller (see `renderWorkload`). */
  manifests?: string;
  helm?: HelmSource;
  overridable?: Overridable[];
  maxReplicas?: number;
  allowedImageRegistries?: string[];
  /** Where the app serves Prometheus metrics: a Service port by name (a ServiceMonitor scrapes it). */
  metrics?: WorkloadMetrics;
}

export interface WorkloadMetrics {
  port: string;
  /** Default `/metrics`. */
  path?: string;
  /** Default `30s`. */
  interval?: string;
}

export interface WorkloadOverrides {
  /** Chart values merged over the definition's (Helm source only). */
  values?: Record<string, unknown>;
  image?: string;
  imageTag?: string;
  replicas?: number;
  env?: Record<string, string>;
  resources?: ContainerResources;
  command?: string[];
  args?: string[];
}

export interface WorkloadInstanceSpec {
  definitionRef: { name: string };
  /** Filled by the API with the project's default cluster when a write leaves it out. */
  clusterRef: { name: string };
  /** Filled by the API with `derivedNamespace` on create when left out; immutable. */
  namespace?: string;
  overrides?: WorkloadOverrides;
  /** The databases the app uses (DatabaseInstances of its project), each wired in with `envPrefix`. */
  databases?: Array<{ ref: { name: string }; envPrefix: string }>;
  /** The secrets the app receives (SecretInstances of its project). */
  secrets?: Array<{ ref: { name: string }; as?: 'env' | 'file'; mountPath?: string }>;
  /** Reachable from outside at its own hostname (the workload-controller makes its Exposure). */
  expose?: WorkloadExposure;
  /** Its metrics and logs are collected unless set `false` here. */
  observability?: { metrics?: boolean; logs?: boolean };
}

export interface WorkloadExposure {
  domainRef: { name: string };
  gatewayRef: { name: string };
  /** Under the domain; the instance's name when left out. */
  host?: string;
  /** The Service to route to; the instance's name when left out. */
  service?: string;
  port: number;
  /** Default `/`. */
  path?: string;
  tls?: { enabled?: boolean; acme?: 'production' | 'staging' };
}

/** A Kubernetes object as Tugboat renders it: the envelope typed, the rest as the kind has it. */
export interface KubeManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [field: string]: unknown };
  [field: string]: unknown;
}

/** A broken rule: where (`spec.overrides.replicas`), which rule (`maxReplicas`), and in words. */
export interface Violation {
  path: string;
  rule: string;
  message: string;
}

/**
 * An `Exposure`'s spec: what the workload-controller writes for an instance with `spec.expose`
 * (host and service filled in) and the support-services-controller delivers.
 */
export interface ExposureSpec {
  /** The WorkloadInstance (same project) it exposes. */
  workload: string;
  clusterRef: { name: string };
  namespace: string;
  domainRef: { name: string };
  gatewayRef: { name: string };
  host: string;
  service: string;
  port: number;
  path?: string;
  tls?: { enabled?: boolean; acme?: 'production' | 'staging' };
}

/** The labels on an Exposure that name its cluster and gateway (the spec says the same; labels can be selected on). */
export const EXPOSURE_LABELS = { cluster: 'tugboat.dev/cluster', gateway: 'tugboat.dev/gateway' } as const;
