import type { ResourceStatus } from '@tugboat/resource-model';

export type DatabaseEngine = 'postgres' | 'mysql';
export type DeletionPolicy = 'snapshot' | 'delete' | 'retain';

/** `DatabaseDefinition.spec` (the built-in schema `DATABASE_DEFINITION` in `@tugboat/resource-model`). */
export interface DatabaseDefinitionSpec {
  engine: DatabaseEngine;
  allowedVersions: string[];
  allowedInstanceClasses: string[];
  storageGb: { min: number; max: number };
  /** Default 7. */
  backupRetentionDays?: number;
  multiAz?: boolean;
  /** Default `snapshot`. */
  deletionPolicy?: DeletionPolicy;
  /** Default `immediately`. */
  applyChanges?: 'immediately' | 'maintenanceWindow';
  maintenanceWindow?: string;
  defaults?: { version?: string; instanceClass?: string; storageGb?: number };
  allowedParameters?: string[];
}

/** `DatabaseInstance.spec` (`DATABASE_INSTANCE`): the API has checked it against its definition. */
export interface DatabaseInstanceSpec {
  definitionRef: { name: string };
  clusterRef?: { name: string };
  network?: { accountRef: { name: string }; region: string; subnetIds: string[]; allowedCidrs?: string[] };
  databaseName: string;
  version?: string;
  instanceClass?: string;
  storageGb?: number;
  /** A token: a new value asks for the master password to be rotated now. */
  passwordRotation?: string;
  /** Engine parameters, each one the definition allows (the API checks). */
  parameters?: Record<string, string>;
}

/** What a client of the database reads (the workload-controller): a contract, keep the names. Never the password. */
export interface DatabaseOutputs {
  engine: DatabaseEngine;
  engineVersion: string;
  host: string;
  port: number;
  databaseName: string;
  username: string;
  /** The RDS-managed secret (Secrets Manager) holding `{ username, password }`. */
  secretArn: string;
  /** The secret's AWSCURRENT version id: a rotation changes it. */
  passwordVersion: string;
  region: string;
  /** The AwsAccount whose credentials reach the instance and its secret. */
  accountName: string;
  instanceIdentifier: string;
  [key: string]: unknown;
}

/** A class, storage or version change RDS holds until the maintenance window. */
export interface PendingChanges {
  instanceClass?: string;
  storageGb?: number;
  engineVersion?: string;
  /** The weekly window (UTC) they are applied in. */
  maintenanceWindow: string;
}

export interface DatabaseInstanceStatus extends ResourceStatus {
  outputs?: DatabaseOutputs;
  /** The step the last pass reached (`WaitingForCluster` … `Ready`, `Deleting…`). */
  step?: string;
  /** Where the database's AWS resources are, recorded before the first AWS call. */
  region?: string;
  /** The AwsAccount used, recorded with the region (a delete goes by these two). */
  accountName?: string;
  instanceIdentifier?: string;
  pendingChanges?: PendingChanges;
  /** The `spec.passwordRotation` token the published password answers (a different one in spec asks for a rotation). */
  passwordRotation?: string;
  /** Throttled or transient AWS failures in a row: the retry delay doubles with each. */
  retries?: number;
}
