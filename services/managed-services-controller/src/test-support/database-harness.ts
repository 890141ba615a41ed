/**
 * DatabaseInstance tests against the SDK's fake API and a real, in-process sandbox (EC2, RDS and
 * Secrets Manager on their wire protocols, time sped up): an AwsAccount and an EksCluster made
 * Ready by hand (their own controllers are not under test here) with a real sandbox VPC and private
 * subnets, DatabaseInstances driven pass by pass with `reconcileOnce` (each waiting the requeue
 * delay the controller asked for, capped), and the sandbox's counters of what was created and deleted.
 */
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { RDSClient } from '@aws-sdk/client-rds';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createFakeApi, reconcileOnce, type FakeApi } from '@tugboat/controller-sdk/testing';
import type { ReconcileReport } from '@tugboat/controller-sdk';
import {
  AWS_ACCOUNT,
  CLUSTER_DEFINITION,
  CLUSTER_INSTANCE,
  DATABASE_DEFINITION,
  DATABASE_INSTANCE,
  EKS_CLUSTER,
  MANAGED_SERVICES_CONTROLLER,
  type Resource,
} from '@tugboat/resource-model';
import { DEFAULT_ACCOUNT_ID } from '@tugboat/sandbox';
import { startTestSandbox, type TestSandbox } from '../../../sandbox/src/test-support/start-test-sandbox.js';
import type { DatabaseDefinitionSpec, DatabaseInstanceSpec, DatabaseInstanceStatus } from '../database-types.js';
import { createDatabaseController } from '../managed-services-controller.js';
import type { DatabaseReconcilerOptions } from '../reconcile-database.js';

export const KEY = { accessKeyId: 'AKIADATABASES0000001', secretAccessKey: 'database-provisioner-secret' };
export const REGION = 'eu-west-1';
export const PROJECT = 'shop';
/** Sandbox time: a 5-minute instance create takes 15 ms. */
export const TIME_SCALE = 20_000;

export type DatabaseObject = Resource<DatabaseInstanceSpec, DatabaseInstanceStatus>;
type Controller = ReturnType<typeof createDatabaseController>;

/**
 * What the API must grant the managed-services-controller for this to run against the real API
 * (see the README): reading an EksCluster (the cluster's network) and an AwsAccount's secret (its
 * keys). The built-in kinds do not grant them yet; the fake enforces the same rule, so the tests
 * register the kinds with the grants added.
 */
/** The kinds as the API ships them: AwsAccount's secret and EksCluster's objects are granted to this controller. */
export const GRANTED_KINDS = [
  AWS_ACCOUNT,
  EKS_CLUSTER,
  CLUSTER_DEFINITION,
  CLUSTER_INSTANCE,
  DATABASE_DEFINITION,
  DATABASE_INSTANCE,
];

export interface ClusterNetwork {
  vpcId: string;
  subnetIds: string[];
  cidrs: string[];
}

export interface Harness {
  sandbox: TestSandbox;
  api: FakeApi;
  ec2: EC2Client;
  rds: RDSClient;
  secrets: SecretsManagerClient;
  /** An AwsAccount `name`, Ready (or in `phase`). */
  account(name: string, phase?: 'Ready' | 'Failed'): Promise<void>;
  /** A VPC with two private subnets in two zones, made in the sandbox. */
  network(cidrPrefix: string): Promise<ClusterNetwork>;
  /** A ClusterInstance and its EksCluster `name`; Ready with outputs pointing at `network` unless `ready` is false. */
  cluster(name: string, account: string, network: ClusterNetwork, ready?: boolean): Promise<void>;
  setClusterReady(name: string, network: ClusterNetwork): void;
  definition(name: string, spec: Partial<DatabaseDefinitionSpec> & Pick<DatabaseDefinitionSpec, 'engine'>): Promise<void>;
  controller(options?: DatabaseReconcilerOptions): Controller;
  create(name: string, spec: Partial<DatabaseInstanceSpec> & Pick<DatabaseInstanceSpec, 'definitionRef'>): Promise<DatabaseObject>;
  once(obj: DatabaseObject, controller?: Controller): Promise<{ report: ReconcileReport; object: DatabaseObject | undefined }>;
  /** Reconciles until `until` holds (or the object is gone), waiting each requeue delay (at most 20 ms); every status seen goes to `seen`. */
  converge(obj: DatabaseObject, until: (o: DatabaseObject | undefined) => boolean, options?: { controller?: Controller; passes?: number; seen?: DatabaseInstanceStatus[] }): Promise<DatabaseObject | undefined>;
  remove(obj: DatabaseObject): Promise<DatabaseInstanceStatus[]>;
  counters(): { created: Record<string, number>; deleted: Record<string, number> };
  /** Every AWS call the sandbox serves, while `recording` is on. */
  calls: string[];
  record(on: boolean): void;
  close(): Promise<void>;
}

export const FAST: DatabaseReconcilerOptions = { pollMs: 5, retryMs: 5, requestTimeoutMs: 5_000 };

export async function startHarness(): Promise<Harness> {
  const sandbox = await startTestSandbox({ credentials: [KEY], timeScale: TIME_SCALE });
  const api = createFakeApi({ kinds: GRANTED_KINDS, identity: { name: MANAGED_SERVICES_CONTROLLER, type: 'controller', controller: MANAGED_SERVICES_CONTROLLER } });
  const clientOptions = { region: REGION, endpoint: sandbox.url, credentials: KEY };
  const ec2 = new EC2Client(clientOptions);
  const rds = new RDSClient(clientOptions);
  const secrets = new SecretsManagerClient(clientOptions);
  const defaultController = createDatabaseController(FAST);
  const key = (obj: DatabaseObject) => ({ kind: 'DatabaseInstance', project: PROJECT, name: obj.metadata.name });
  const faults = sandbox.sandbox.faults;
  const check = faults.check.bind(faults);
  const calls: string[] = [];
  let recording = false;
  faults.check = (service, operation) => {
    if (recording) calls.push(`${service}:${operation}`);
    return check(service, operation);
  };

  const harness: Harness = {
    sandbox,
    api,
    ec2,
    rds,
    secrets,
    calls,
    record(on) {
      recording = on;
      calls.length = 0;
    },
    async account(name, phase = 'Ready') {
      const obj = await api.create({
        kind: 'AwsAccount',
        metadata: { name },
        spec: { accountId: DEFAULT_ACCOUNT_ID, region: REGION, endpoint: sandbox.url, accessKeyId: KEY.accessKeyId, secretAccessKey: KEY.secretAccessKey },
      });
      const ready = phase === 'Ready';
      api.setStatus(
        { kind: 'AwsAccount', project: '', name },
        {
          phase,
          observedGeneration: obj.metadata.generation,
          conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'Ready' : 'InvalidCredentials', message: ready ? 'ok' : 'SignatureDoesNotMatch: no', lastTransitionTime: new Date().toISOString() }],
          ...(ready ? { outputs: { accountId: DEFAULT_ACCOUNT_ID } } : {}),
        },
      );
    },
    async network(cidrPrefix) {
      const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: `${cidrPrefix}.0.0/16` }))).Vpc?.VpcId ?? '';
      const cidrs = [`${cidrPrefix}.128.0/20`, `${cidrPrefix}.144.0/20`];
      const subnetIds: string[] = [];
      for (const [i, cidr] of cidrs.entries()) {
        subnetIds.push((await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: `${REGION}${'ab'[i]}` }))).Subnet?.SubnetId ?? '');
      }
      return { vpcId, subnetIds, cidrs };
    },
    async cluster(name, account, network, ready = true) {
      if (api.object({ kind: 'ClusterDefinition', project: '', name: 'eks' }) === undefined) {
        await api.create({ kind: 'ClusterDefinition', metadata: { name: 'eks' }, spec: { provider: 'eks', allowedVersions: ['1.31'], allowedRegions: [REGION], allowedNodeSizes: ['t3.medium'] } });
      }
      await api.create({ kind: 'ClusterInstance', metadata: { name }, spec: { definitionRef: { name: 'eks' }, accountRef: { name: account }, region: REGION } });
      await api.create({ kind: 'EksCluster', metadata: { name }, spec: { accountRef: { name: account }, region: REGION, version: '1.31' } });
      if (ready) harness.setClusterReady(name, network);
    },
    setClusterReady(name, network) {
      api.setStatus(
        { kind: 'EksCluster', project: '', name },
        {
          phase: 'Ready',
          observedGeneration: 1,
          conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'ACTIVE', lastTransitionTime: new Date().toISOString() }],
          outputs: { clusterName: name, region: REGION, accountId: DEFAULT_ACCOUNT_ID, vpcId: network.vpcId, subnetIds: network.subnetIds, publicSubnetIds: [] },
        },
      );
    },
    async definition(name, spec) {
      const versions = spec.engine === 'postgres' ? ['16.6', '17.2'] : ['8.0.40', '8.4.3'];
      await api.create({
        kind: 'DatabaseDefinition',
        metadata: { name },
        spec: { allowedVersions: versions, allowedInstanceClasses: ['db.t3.micro', 'db.t3.small', 'db.t3.medium'], storageGb: { min: 20, max: 200 }, defaults: { version: versions[0], instanceClass: 'db.t3.micro', storageGb: 20 }, ...spec },
      });
    },
    controller: (options = {}) => createDatabaseController({ ...FAST, ...options }),
    async create(name, spec) {
      return api.create<DatabaseInstanceSpec, DatabaseInstanceStatus>({ kind: 'DatabaseInstance', metadata: { name, project: PROJECT }, spec: { databaseName: 'app', ...spec } });
    },
    async once(obj, controller = defaultController) {
      const { report, object } = await reconcileOnce(controller, obj, { api });
      return { report, object: object as DatabaseObject | undefined };
    },
    async converge(obj, until, options = {}) {
      const passes = options.passes ?? 400;
      for (let pass = 0; pass < passes; pass += 1) {
        const { report, object } = await harness.once(obj, options.controller);
        if (object !== undefined) options.seen?.push(object.status);
        if (until(object) || object === undefined) return object;
        const delay = report.disposition.action === 'nak' ? report.disposition.delayMs : 0;
        await new Promise((resolve) => setTimeout(resolve, Math.min(delay ?? 0, 20)));
      }
      const last = await api.get<DatabaseInstanceSpec, DatabaseInstanceStatus>(key(obj));
      throw new Error(`${obj.metadata.name} did not converge in ${passes} passes; last status ${JSON.stringify(last?.status)}`);
    },
    async remove(obj) {
      await api.delete(key(obj));
      const seen: DatabaseInstanceStatus[] = [];
      const gone = await harness.converge(obj, (o) => o === undefined, { seen });
      if (gone !== undefined) throw new Error(`${obj.metadata.name} is still there`);
      return seen;
    },
    counters: () => sandbox.sandbox.counters.snapshot(),
    async close() {
      faults.check = check;
      ec2.destroy();
      rds.destroy();
      secrets.destroy();
      await sandbox.sandbox.close();
    },
  };
  return harness;
}

/** What was created and deleted between two counter snapshots, per type, zeros and other services left out. */
export function countersDelta(before: ReturnType<Harness['counters']>, after: ReturnType<Harness['counters']>) {
  const diff = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(
      Object.keys(b)
        .map((type) => [type, (b[type] ?? 0) - (a[type] ?? 0)] as const)
        .filter(([type, count]) => count !== 0 && (type.startsWith('rds:') || type === 'ec2:security-group')),
    );
  return { created: diff(before.created, after.created), deleted: diff(before.deleted, after.deleted) };
}

/** What one database makes (the managed secret is RDS's, counted by the sandbox's Secrets Manager). */
export const ONE_DATABASE = { 'rds:db-instance': 1, 'rds:db-subnet-group': 1, 'ec2:security-group': 1 };

export const ready = (status: DatabaseInstanceStatus | undefined) => status?.conditions?.find((c) => c.type === 'Ready');
