/**
 * One reconcile's view of AWS for an EksCluster: the EC2, IAM and EKS clients of its account and
 * region, the object's identity (uid, name), what was found or made so far (the inventory), the
 * kill points of crash tests, and the step being worked on (for status and error messages).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { IAMClient } from '@aws-sdk/client-iam';
import { KilledAtPoint, type AwsClientConfig } from '@tugboat/aws';
import type { KillPoint } from '@tugboat/resource-model';
import type { InventoryItem } from './eks-types.js';

export interface EksRun {
  ec2: EC2Client;
  iam: IAMClient;
  eks: EKSClient;
  uid: string;
  /** The EksCluster's name: also the EKS cluster's name. */
  name: string;
  region: string;
  signal: AbortSignal;
  /** What the AWS SDK's `send` takes as its second argument. */
  send: { abortSignal: AbortSignal };
  /** Everything found or made in this pass, by `type/id`. */
  inventory: Map<string, InventoryItem>;
  /** The step now worked on: status `reason` and `step`, and the prefix of an error message. */
  step: string;
  /** Right after an AWS create or delete call, before anything records it. */
  pass(point: string): void;
  /** Before every call that changes AWS: throws once the lease on the object is lost. */
  assertLeaseHeld(): void;
  record(item: InventoryItem): void;
  close(): void;
}

export interface EksRunInput {
  config: AwsClientConfig;
  uid: string;
  name: string;
  region: string;
  signal: AbortSignal;
  killPoint: KillPoint;
  assertLeaseHeld: () => void;
}

export function openEksRun(input: EksRunInput): EksRun {
  const inventory = new Map<string, InventoryItem>();
  const ec2 = new EC2Client(input.config);
  const iam = new IAMClient(input.config);
  const eks = new EKSClient(input.config);
  return {
    ec2,
    iam,
    eks,
    uid: input.uid,
    name: input.name,
    region: input.region,
    signal: input.signal,
    send: { abortSignal: input.signal },
    inventory,
    step: 'Starting',
    pass(point) {
      if (input.killPoint.pass(point, 1) === 0) throw new KilledAtPoint(`killed at ${point}`);
    },
    assertLeaseHeld: input.assertLeaseHeld,
    record(item) {
      inventory.set(`${item.type}/${item.id}`, item);
    },
    close() {
      ec2.destroy();
      iam.destroy();
      eks.destroy();
    },
  };
}

/** EC2 and IAM take tags as a list. */
export function tagList(tags: Record<string, string>): Array<{ Key: string; Value: string }> {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function tagValue(tags: Array<{ Key?: string | undefined; Value?: string | undefined }> | undefined, key: string): string | undefined {
  return tags?.find((tag) => tag.Key === key)?.Value;
}

export { awsCode, isNotFound, KilledAtPoint, ProvisioningRefused, unlessNotFound } from '@tugboat/aws';
