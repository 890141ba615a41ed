/**
 * One reconcile's view of AWS for a DatabaseInstance: the RDS, EC2 and Secrets Manager clients of
 * its account and region, the object's identity, the kill points of crash tests, and the step being
 * worked on (for status and error messages).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { RDSClient } from '@aws-sdk/client-rds';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KilledAtPoint, type AwsClientConfig } from '@tugboat/aws';
import type { KillPoint } from '@tugboat/resource-model';
import { instanceIdentifier } from './database-naming.js';

export interface DatabaseRun {
  rds: RDSClient;
  ec2: EC2Client;
  secrets: SecretsManagerClient;
  uid: string;
  project: string;
  name: string;
  /** The RDS instance identifier, also the DB subnet group's and the security group's name. */
  identifier: string;
  region: string;
  /** What the AWS SDK's `send` takes as its second argument. */
  send: { abortSignal: AbortSignal };
  /** The step now worked on: status `reason` and `step`, and the prefix of an error message. */
  step: string;
  /** Right after an AWS create or delete call, before anything records it. */
  pass(point: string): void;
  /** Before every call that changes AWS: throws once the lease on the object is lost. */
  assertLeaseHeld(): void;
  close(): void;
}

export interface DatabaseRunInput {
  config: AwsClientConfig;
  uid: string;
  project: string;
  name: string;
  region: string;
  signal: AbortSignal;
  killPoint: KillPoint;
  assertLeaseHeld: () => void;
}

export function openDatabaseRun(input: DatabaseRunInput): DatabaseRun {
  const rds = new RDSClient(input.config);
  const ec2 = new EC2Client(input.config);
  const secrets = new SecretsManagerClient(input.config);
  return {
    rds,
    ec2,
    secrets,
    uid: input.uid,
    project: input.project,
    name: input.name,
    identifier: instanceIdentifier(input.project, input.name),
    region: input.region,
    send: { abortSignal: input.signal },
    step: 'Starting',
    pass(point) {
      if (input.killPoint.pass(point, 1) === 0) throw new KilledAtPoint(`killed at ${point}`);
    },
    assertLeaseHeld: input.assertLeaseHeld,
    close() {
      rds.destroy();
      ec2.destroy();
      secrets.destroy();
    },
  };
}

export { awsCode, isNotFound, KilledAtPoint, ProvisioningRefused, unlessNotFound } from '@tugboat/aws';
