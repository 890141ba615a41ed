import type { ResourceStatus } from '@tugboat/resource-model';

/** One row of `status.objects`: a Kubernetes object of the instance and whether it is ready. */
export interface ObjectRow {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  ready: boolean;
  reason?: string;
  message?: string;
}

export interface WorkloadOutputs {
  namespace: string;
  cluster: string;
  /** In-cluster addresses of the instance's Services: `web.team-a-web.svc.cluster.local:8080`. */
  addresses: string[];
  [key: string]: unknown;
}

export interface WorkloadStatus extends ResourceStatus {
  outputs?: WorkloadOutputs;
  objects?: ObjectRow[];
  /** The generation of the definition last applied. */
  definitionGeneration?: number;
}

/** What the controller reads of a ClusterInstance. */
export interface ClusterView {
  context?: string;
  /** Set for an eks cluster: the account whose credentials sign the EKS token. */
  accountRef?: { name: string };
}
