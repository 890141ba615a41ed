/**
 * What the AWS half needs from the Kubernetes half: simulated clusters to add when an EKS cluster
 * becomes ACTIVE (and to give nodes when its node groups do), and to remove when it is deleted.
 * The Kubernetes simulator (`src/kube`) implements it; tests of the AWS half use a fake.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface KubeNode {
  name: string;
  labels?: Record<string, string>;
}

export interface KubeClusterSummary {
  name: string;
  /** The bearer token its API server wants. */
  token?: string;
}

export interface ClusterRegistry {
  /** Adds a cluster, or replaces the node list of one that exists (its objects stay). */
  addCluster(name: string, options?: { nodes?: KubeNode[]; token?: string; version?: string }): void;
  removeCluster(name: string): void;
  listClusters(): KubeClusterSummary[];
  /** A kubeconfig (YAML) with one context per cluster named (all when `names` is absent). */
  kubeconfig(baseUrl: string, names?: string[]): string;
  /** Serves `/k8s/{cluster}/…`; mounted at `/k8s`, so it sees paths without that prefix. */
  handler: (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;
  /** Re-plans the simulated timers already set, after the clock's scale changed. */
  rescheduleTimers(): void;
  snapshot(): unknown;
  restore(data: unknown): void;
  reset(): void;
  /**
   * What the simulated Prometheus `namespace/name` of a cluster scrapes (its selected
   * ServiceMonitors and their targets), for the control API; undefined when there is no such
   * cluster or Prometheus. A registry without Prometheus (a test fake) may leave it out.
   */
  prometheusTargets?(cluster: string, namespace: string, name: string): object | undefined;
}
