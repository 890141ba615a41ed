/**
 * The EKS side of a ClusterInstance (provider `eks`): the cluster-controller writes its `EksCluster`
 * — same name, owned by the ClusterInstance, spec from the instance over its definition's defaults —
 * and the infra-controller provisions it. This file holds the pure parts: the desired spec, and
 * what the EksCluster's status means for the ClusterInstance.
 */
import type { Resource, ResourceStatus } from '@tugboat/resource-model';
import type { ClusterDefinitionSpec, ClusterSpec, EksNetwork, NodeGroupSpec } from './cluster-types.js';

export const EKS_CLUSTER_KIND = 'EksCluster';

export interface EksClusterSpec {
  accountRef: { name: string };
  region: string;
  version: string;
  network?: EksNetwork;
  nodeGroups?: Array<{ name: string; instanceTypes: string[]; minSize: number; maxSize: number; desiredSize?: number }>;
}

export type EksClusterResource = Resource<EksClusterSpec, ResourceStatus>;

/** The EksCluster spec for an instance, or the fields an operator must set (none of them defaulted). */
export function desiredEksSpec(instance: ClusterSpec, definition: ClusterDefinitionSpec): { spec: EksClusterSpec } | { missing: string[] } {
  const defaults = definition.defaults ?? {};
  const region = instance.region ?? defaults.region;
  const version = instance.version ?? defaults.version;
  const missing: string[] = [];
  if (instance.accountRef === undefined) missing.push('spec.accountRef (the AwsAccount to provision in)');
  if (region === undefined) missing.push('spec.region (the definition has no defaults.region)');
  if (version === undefined) missing.push('spec.version (the definition has no defaults.version)');
  if (missing.length > 0 || instance.accountRef === undefined || region === undefined || version === undefined) return { missing };
  const groups: NodeGroupSpec[] = instance.nodeGroups ?? defaults.nodeGroups ?? [];
  const network = instance.network ?? defaults.network;
  return {
    spec: {
      accountRef: { name: instance.accountRef.name },
      region,
      version,
      ...(network === undefined ? {} : { network }),
      nodeGroups: groups.map((group) => ({
        name: group.name,
        instanceTypes: [group.instanceType],
        minSize: group.minSize,
        maxSize: group.maxSize,
        ...(group.desiredSize === undefined ? {} : { desiredSize: group.desiredSize }),
      })),
    },
  };
}

/** Whether the EksCluster is this instance's: owned by the ClusterInstance of that name (and uid, once known). */
export function ownedBy(eks: EksClusterResource, instance: { metadata: Resource['metadata'] }): boolean {
  return (eks.metadata.ownerReferences ?? []).some((owner) => owner.kind === 'ClusterInstance' && owner.name === instance.metadata.name && (owner.uid === undefined || owner.uid === instance.metadata.uid));
}

/** One line on where the EksCluster is, for the ClusterInstance's message. */
export function eksProgress(eks: EksClusterResource): string {
  const status = eks.status;
  const step = typeof status['step'] === 'string' ? status['step'] : status.conditions?.find((c) => c.type === 'Ready')?.reason;
  const what = [status.phase ?? 'Pending', step].filter((part) => part !== undefined && part !== '').join(', ');
  const said = status.conditions?.find((c) => c.type === 'Ready')?.message ?? (typeof status['message'] === 'string' ? status['message'] : undefined);
  // The infra-controller's messages start with the step, which `what` already names.
  const message = step !== undefined && said?.startsWith(`${step}: `) ? said.slice(step.length + 2) : said;
  const observed = status.observedGeneration;
  if (observed !== undefined && observed !== eks.metadata.generation) {
    // What it says is about an earlier spec: say so, rather than pass an old failure on as current.
    return `EksCluster ${eks.metadata.name} waits for the infra-controller to apply generation ${eks.metadata.generation} (for generation ${observed} it reported ${what}${message ? `: ${message}` : ''})`;
  }
  return `EksCluster ${eks.metadata.name} is ${what}${message ? `: ${message}` : ''}`;
}
