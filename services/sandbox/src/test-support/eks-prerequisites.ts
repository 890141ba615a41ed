/**
 * What an EKS cluster needs before EKS accepts it, made through the sandbox's own IAM and EC2 APIs
 * with the real SDK clients: a cluster role trusting `eks.amazonaws.com`, a node role trusting
 * `ec2.amazonaws.com` (each with the AWS managed policies EKS documents), and a VPC with one subnet
 * in each of two availability zones. For tests whose subject is not the network itself.
 */
import { randomBytes } from 'node:crypto';
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AttachRolePolicyCommand, CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';

export interface EksPrerequisites {
  roleArn: string;
  nodeRoleArn: string;
  /** One subnet per availability zone (`{region}a`, `{region}b`), in `vpcId`. */
  subnetIds: string[];
  vpcId: string;
}

export interface EksPrerequisitesOptions {
  /** Default `us-east-1`: where the VPC and subnets are made (IAM is global). */
  region?: string;
  /** Prefix of the role names; default `eks-` and a random suffix, so that calls never clash. */
  namePrefix?: string;
  /** The VPC's CIDR block (a /16); default 10.0.0.0/16. */
  cidrBlock?: string;
}

const CLUSTER_POLICIES = ['arn:aws:iam::aws:policy/AmazonEKSClusterPolicy'];
const NODE_POLICIES = [
  'arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy',
  'arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy',
  'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
];

export function trustPolicyFor(servicePrincipal: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: servicePrincipal }, Action: 'sts:AssumeRole' }],
  });
}

export async function createEksPrerequisites(
  url: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  options: EksPrerequisitesOptions = {},
): Promise<EksPrerequisites> {
  const region = options.region ?? 'us-east-1';
  const prefix = options.namePrefix ?? `eks-${randomBytes(4).toString('hex')}`;
  const [first = '10', second = '0'] = (options.cidrBlock ?? '10.0.0.0/16').split('.');
  const iam = new IAMClient({ endpoint: url, region, credentials, maxAttempts: 1 });
  const ec2 = new EC2Client({ endpoint: url, region, credentials, maxAttempts: 1 });
  try {
    const role = async (name: string, servicePrincipal: string, policies: string[]) => {
      const { Role } = await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trustPolicyFor(servicePrincipal) }));
      for (const PolicyArn of policies) await iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn }));
      return Role?.Arn ?? '';
    };
    const roleArn = await role(`${prefix}-cluster`, 'eks.amazonaws.com', CLUSTER_POLICIES);
    const nodeRoleArn = await role(`${prefix}-nodes`, 'ec2.amazonaws.com', NODE_POLICIES);
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: `${first}.${second}.0.0/16` }));
    const vpcId = Vpc?.VpcId ?? '';
    const subnetIds: string[] = [];
    for (const [index, zone] of ['a', 'b'].entries()) {
      const { Subnet } = await ec2.send(
        new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `${first}.${second}.${index * 16}.0/20`, AvailabilityZone: `${region}${zone}` }),
      );
      subnetIds.push(Subnet?.SubnetId ?? '');
    }
    return { roleArn, nodeRoleArn, subnetIds, vpcId };
  } finally {
    iam.destroy();
    ec2.destroy();
  }
}
