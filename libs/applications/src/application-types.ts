/**
 * The Application's spec as the API stores it (its JSON Schema is `APPLICATION` in
 * `@tugboat/resource-model`), and what its expansion produces. Kept free of any transport or
 * database type so the API, the workload-controller and the CLI read one shape.
 */

export type ParameterType = 'string' | 'integer' | 'boolean';
export type ParameterValue = string | number | boolean;

export interface ApplicationParameter {
  name: string;
  type: ParameterType;
  default?: ParameterValue;
  description?: string;
}

export interface ApplicationTarget {
  /** Every cluster labelled `tugboat.dev/tier: <tier>`, now and later. */
  tier?: string;
  /** These clusters, by name. */
  clusters?: Array<{ name: string }>;
  /** Values of the Application's parameters on this target's clusters. */
  parameters?: Record<string, ParameterValue>;
}

export interface WorkloadComponent {
  name: string;
  definitionRef: { name: string };
  databases?: Array<{ component: string; envPrefix: string }>;
  secrets?: Array<{ component: string; as?: 'env' | 'file'; mountPath?: string }>;
  expose?: { domainRef: { name: string }; gatewayRef: { name: string }; port: number; host?: string; service?: string; path?: string; tls?: { enabled?: boolean; acme?: string } };
  observability?: { metrics?: boolean; logs?: boolean };
  overrides?: Record<string, unknown>;
}

export interface DatabaseComponent {
  name: string;
  definitionRef: { name: string };
  databaseName: string;
  version?: string;
  instanceClass?: string;
  storageGb?: number | string;
  network?: Record<string, unknown>;
  passwordRotation?: string;
  parameters?: Record<string, string>;
}

export interface SecretComponent {
  name: string;
  definitionRef: { name: string };
  key: string;
}

export interface ApplicationSpec {
  description?: string;
  parameters?: ApplicationParameter[];
  targets: ApplicationTarget[];
  workloads?: WorkloadComponent[];
  databases?: DatabaseComponent[];
  secrets?: SecretComponent[];
}

/** What the expansion needs to know of a cluster. */
export interface ClusterCandidate {
  name: string;
  labels: Record<string, string>;
  /** A cluster being deleted is never a new target. */
  deleting?: boolean;
}

/** One cluster the Application runs on, with the target that chose it. */
export interface ResolvedTarget {
  cluster: string;
  /** The tier the target named (absent for a target of explicit clusters). */
  tier?: string;
  /** Index of the target in `spec.targets`. */
  target: number;
  parameters: Record<string, ParameterValue>;
}

export type ComponentType = 'workload' | 'database' | 'secret';
export type ChildKind = 'WorkloadInstance' | 'DatabaseInstance' | 'SecretInstance';

/** One object the Application owns on one cluster. */
export interface DesiredChild {
  kind: ChildKind;
  /** `<application>-<component>-<cluster>`. */
  name: string;
  component: string;
  componentType: ComponentType;
  /** Where in the Application's spec the component is (`spec.workloads[0]`): what a refusal names. */
  path: string;
  cluster: string;
  tier?: string;
  labels: Record<string, string>;
  spec: Record<string, unknown>;
}

export interface Expansion {
  targets: ResolvedTarget[];
  /** Per cluster in target order: secrets, then databases, then workloads (what is used before its users). */
  children: DesiredChild[];
}
