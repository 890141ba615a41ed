/** Kinds are data: what the API needs to know to store, validate and route an object. */

export type KindScope = 'Project' | 'Platform';

export interface ReferenceField {
  /** Dotted path inside `spec` whose value is `{ name: string }`, e.g. `clusterRef`. */
  path: string;
  /** The kind it points at. Same project as the referrer unless the target kind is platform-wide. */
  kind: string;
  /** `uses` blocks deleting the target (409); `owns` is not declared here (see ownerReferences). */
  required?: boolean;
}

export interface KindDefinition {
  /** PascalCase, e.g. `WorkloadInstance`. */
  kind: string;
  /** Lower-case plural used in URLs, e.g. `workloadinstances`. */
  plural: string;
  singular: string;
  shortNames: string[];
  scope: KindScope;
  /** The controller that owns the kind: its finalizer name, and the only identity that writes status. */
  controller: string;
  /**
   * `false` for kinds that are rules rather than things (a `WorkloadDefinition`): their owner makes
   * nothing in the real world for them, so the API gives their objects no finalizer and a delete
   * takes effect at once (still refused while others reference them). Default `true`.
   */
  finalizer?: boolean;
  /** JSON Schema (draft 2020-12 subset ajv supports) for `spec`. Unknown fields are rejected. */
  schema: Record<string, unknown>;
  references: ReferenceField[];
  /** Dotted paths inside `spec` holding secrets: encrypted at rest, redacted everywhere. */
  secretFields: string[];
  /**
   * Controllers other than the owner that may read the secret fields (`GET …/secrets`): an explicit
   * grant, each read audited. Nothing else reads them, not even the platform admin.
   */
  secretReaders?: string[];
  /**
   * Controllers other than the owner that read (get, list, watch) objects of this kind: what they
   * build on (the managed-services-controller places a database in an EksCluster's network). An
   * explicit grant, visible in `GET /v1/kinds/{kind}`; no secret field comes with it.
   */
  readers?: string[];
  /**
   * Controllers other than the owner that make objects of this kind on behalf of the objects they
   * own (the cluster-controller writes the `EksCluster` of an eks `ClusterInstance`): they may read,
   * create, update and delete them, each write audited. The owner still alone writes the status.
   */
  composedBy?: string[];
  /**
   * Objects only the API writes (a `Rollout`, written by an Application's expansion): create,
   * update, patch, apply and delete of them answer 405 naming the route that decides them.
   */
  writtenByApi?: boolean;
  /** True for kinds shipped with the API; built-in kinds cannot be re-registered. */
  builtIn?: boolean;
}
