/**
 * EksCluster tests against the SDK's fake API and a real, in-process sandbox (EC2, IAM, EKS, STS on
 * their wire protocols, time sped up): an account made Ready, EksClusters driven pass by pass with
 * `reconcileOnce` (each waiting exactly the requeue delay the controller asked for), and the
 * sandbox's counters of what was created and deleted.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { createFakeApi, reconcileOnce, type FakeApi } from '@tugboat/controller-sdk/testing';
import type { ReconcileReport } from '@tugboat/controller-sdk';
import { AWS_ACCOUNT, EKS_CLUSTER, INFRA_CONTROLLER, type Resource } from '@tugboat/resource-model';
import { DEFAULT_ACCOUNT_ID } from '@tugboat/sandbox';
import { startTestSandbox, type TestSandbox } from '../../../sandbox/src/test-support/start-test-sandbox.js';
import { createEksClusterController } from '../eks-controller.js';
import type { EksClusterSpec, EksClusterStatus } from '../eks-types.js';
import { createAccountController } from '../infra-controller.js';
import type { EksReconcilerOptions } from '../reconcile-eks.js';

export const KEY = { accessKeyId: 'AKIAEKSPROVISION0001', secretAccessKey: 'eks-provisioner-secret' };
export const REGION = 'eu-west-1';
/** Sandbox time: a 10-minute cluster create takes 30 ms. */
export const TIME_SCALE = 20_000;

export type EksObject = Resource<EksClusterSpec, EksClusterStatus>;
type Controller = ReturnType<typeof createEksClusterController>;

export interface Harness {
  sandbox: TestSandbox;
  api: FakeApi;
  ec2: EC2Client;
  eks: EKSClient;
  /** A Ready AwsAccount named `name` (or a Failed one with a wrong secret). */
  account(name: string, secret?: string): Promise<Resource>;
  controller(options?: EksReconcilerOptions): Controller;
  create(name: string, spec: Partial<EksClusterSpec> & { accountRef: { name: string } }): Promise<EksObject>;
  once(obj: EksObject, controller?: Controller): Promise<{ report: ReconcileReport; object: EksObject | undefined }>;
  /** Reconciles until `until` holds (or the object is gone), waiting each requeue delay; every status seen goes to `seen`. */
  converge(obj: EksObject, until: (o: EksObject | undefined) => boolean, options?: { controller?: Controller; passes?: number; seen?: EksClusterStatus[] }): Promise<EksObject | undefined>;
  counters(): { created: Record<string, number>; deleted: Record<string, number> };
  close(): Promise<void>;
}

export const FAST: EksReconcilerOptions = { pollMs: 5, retryMs: 5, requestTimeoutMs: 5_000 };

export async function startHarness(): Promise<Harness> {
  const sandbox = await startTestSandbox({ credentials: [KEY], timeScale: TIME_SCALE });
  const api = createFakeApi({ kinds: [AWS_ACCOUNT, EKS_CLUSTER], identity: { name: INFRA_CONTROLLER, type: 'controller', controller: INFRA_CONTROLLER } });
  const clientOptions = { region: REGION, endpoint: sandbox.url, credentials: KEY };
  const ec2 = new EC2Client(clientOptions);
  const eks = new EKSClient(clientOptions);
  const defaultController = createEksClusterController(FAST);
  const key = (obj: EksObject) => ({ kind: 'EksCluster', project: '', name: obj.metadata.name });

  const harness: Harness = {
    sandbox,
    api,
    ec2,
    eks,
    async account(name, secret = KEY.secretAccessKey) {
      const obj = await api.create({
        kind: 'AwsAccount',
        metadata: { name },
        spec: { accountId: DEFAULT_ACCOUNT_ID, region: REGION, endpoint: sandbox.url, accessKeyId: KEY.accessKeyId, secretAccessKey: secret },
      });
      const { object } = await reconcileOnce(createAccountController({ retryMs: 5 }), obj, { api });
      return object as unknown as Resource;
    },
    controller: (options = {}) => createEksClusterController({ ...FAST, ...options }),
    async create(name, spec) {
      return api.create<EksClusterSpec, EksClusterStatus>({ kind: 'EksCluster', metadata: { name }, spec: { region: REGION, version: '1.31', ...spec } });
    },
    async once(obj, controller = defaultController) {
      const { report, object } = await reconcileOnce(controller, obj, { api });
      return { report, object: object as EksObject | undefined };
    },
    async converge(obj, until, options = {}) {
      const passes = options.passes ?? 300;
      for (let pass = 0; pass < passes; pass += 1) {
        const { report, object } = await harness.once(obj, options.controller);
        if (object !== undefined) options.seen?.push(object.status);
        if (until(object) || object === undefined) return object;
        const delay = report.disposition.action === 'nak' ? report.disposition.delayMs : 0;
        await new Promise((resolve) => setTimeout(resolve, Math.min(delay ?? 0, 20)));
      }
      const last = await api.get<EksClusterSpec, EksClusterStatus>(key(obj));
      throw new Error(`${obj.metadata.name} did not converge in ${passes} passes; last status ${JSON.stringify(last?.status)}`);
    },
    counters: () => sandbox.sandbox.counters.snapshot(),
    async close() {
      ec2.destroy();
      eks.destroy();
      await sandbox.sandbox.close();
    },
  };
  return harness;
}

/** What was created and deleted between two counter snapshots, per type, zeros left out. */
export function countersDelta(before: ReturnType<Harness['counters']>, after: ReturnType<Harness['counters']>) {
  const diff = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(
      Object.keys(b)
        .map((type) => [type, (b[type] ?? 0) - (a[type] ?? 0)] as const)
        .filter(([type, count]) => count !== 0 && !type.startsWith('kube:')),
    );
  return { created: diff(before.created, after.created), deleted: diff(before.deleted, after.deleted) };
}

/** What one cluster with the default network and one node group makes. */
export const ONE_CLUSTER = {
  'ec2:vpc': 1,
  'ec2:subnet': 4,
  'ec2:internet-gateway': 1,
  // The VPC's main route table, the public and the private one.
  'ec2:route-table': 3,
  'ec2:elastic-ip': 1,
  'ec2:nat-gateway': 1,
  'iam:role': 2,
  'eks:cluster': 1,
  'eks:nodegroup': 1,
};

export const ready = (status: EksClusterStatus | undefined) => status?.conditions?.find((c) => c.type === 'Ready');
