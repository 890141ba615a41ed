/**
 * The sandbox process in one object: one HTTP port serving the simulated AWS APIs (routed by
 * SigV4 service), the simulated Kubernetes API servers under `/k8s/{cluster}`, the control API
 * under `/_sandbox`, and chart repositories (HTTP under `/charts/{repo}`, an OCI registry under
 * `/v2/`); optionally persisting its state and writing `kubeconfig` and `aws.env`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import pino, { type Logger } from 'pino';
import { createAwsOperationRegistry, type AwsOperation, type AwsOperationRegistry } from './aws/aws-operation.js';
import { createAwsRequestHandler } from './aws/aws-request-handler.js';
import { createCredentialStore, type CredentialStore, type CredentialStoreSnapshot, type StaticCredential } from './aws/credential-store.js';
import { createEksSimulator, type EksDurations, type EksSimulator, type EksSnapshot } from './aws/eks/eks-simulator.js';
import { eksOperations } from './aws/eks/eks-operations.js';
import { createEc2Simulator, type Ec2Durations, type Ec2Simulator, type Ec2Snapshot } from './aws/ec2/ec2-simulator.js';
import { ec2Operations } from './aws/ec2/ec2-operations.js';
import { isEksToken, verifyEksToken } from './aws/eks/eks-token.js';
import { iamOperations } from './aws/iam/iam-operations.js';
import { createIamSimulator, type IamSimulator, type IamSnapshot } from './aws/iam/iam-simulator.js';
import { rdsOperations } from './aws/rds/rds-operations.js';
import { createRdsSimulator, type RdsDurations, type RdsSimulator, type RdsSnapshot } from './aws/rds/rds-simulator.js';
import { secretsManagerOperations } from './aws/secretsmanager/secrets-manager-operations.js';
import {
  createSecretsManagerSimulator,
  type SecretsManagerSimulator,
  type SecretsManagerSnapshot,
} from './aws/secretsmanager/secrets-manager-simulator.js';
import { route53Operations } from './aws/route53/route53-operations.js';
import { createRoute53Simulator, type Route53Durations, type Route53Simulator, type Route53Snapshot } from './aws/route53/route53-simulator.js';
import { stsOperations } from './aws/sts/sts-operations.js';
import { createChartRepository } from './charts/chart-repository.js';
import type { ClusterRegistry } from './cluster-registry.js';
import { createControlApi } from './control-api.js';
import { createSandboxCounters, type SandboxCounters } from './counters.js';
import { createFaultInjector, type FaultInjector } from './fault-injector.js';
import { createSimClock, type SimClock } from './sim-clock.js';
import { createKubeSimulator } from './kube/index.js';
import { createStateStore, writeFileAtomic, type StateStore } from './state-store.js';

export const DEFAULT_PORT = 4566;
export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_ACCOUNT_ID = '123456789012';
/** What `aws.env` hands to clients when no credential set is configured (any key is accepted then). */
export const TEST_CREDENTIALS: StaticCredential = {
  accessKeyId: 'AKIATUGBOATSANDBOX01',
  secretAccessKey: 'tugboat/sandbox/test/secret/access/key/0',
};
export const LOCAL_CLUSTER = 'local';

export interface ClusterRegistryDependencies {
  clock: SimClock;
  faults: FaultInjector;
  counters: SandboxCounters;
  logger: Logger;
  /**
   * Bearer tokens a cluster accepts besides its own: for the cluster of an ACTIVE EKS cluster, what
   * EKS accepts — a `k8s-aws-v1.` token (a presigned STS GetCallerIdentity signed for that cluster).
   */
  verifyToken: (clusterName: string, token: string) => boolean;
  /** The sandbox's own AWS endpoint once it listens (the cert-manager simulation solves DNS-01 against its Route 53). */
  awsEndpoint: () => string | undefined;
  /** What the simulated cert-manager uses as ambient AWS credentials (a ClusterIssuer's route53 solver without a key). */
  awsAmbientCredentials: StaticCredential;
}

export interface SandboxServerOptions {
  /** Default 4566; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Where `state.json`, `kubeconfig` and `aws.env` live; without it the state is in memory only. */
  stateDir?: string;
  region?: string;
  accountId?: string;
  /** Restricts the simulated AWS to these keys (signatures verified). Default: any key. */
  credentials?: StaticCredential[];
  /** Initial time scale (also what reset returns to). Default 1. */
  timeScale?: number;
  eksDurations?: Partial<EksDurations>;
  ec2Durations?: Partial<Ec2Durations>;
  rdsDurations?: Partial<RdsDurations>;
  /** Route 53: how long a change stays PENDING (default 5 simulated seconds). */
  route53Durations?: Partial<Route53Durations>;
  logger?: Logger;
  /** Builds the Kubernetes half. Default: the simulated API servers of `src/kube`. */
  createClusterRegistry?: (dependencies: ClusterRegistryDependencies) => ClusterRegistry;
  /** Extra AWS operations served on the same port beside the built-in EKS, STS, IAM, EC2, RDS, Secrets Manager and Route 53. */
  awsOperations?: (context: { credentials: CredentialStore; clock: SimClock }) => AwsOperation[];
  saveDebounceMs?: number;
  /** Chart directories served by the chart repositories. Default: the package's `charts/`. */
  chartsDir?: string;
}

export interface SandboxEndpoints {
  url: string;
  aws: string;
  kube: Record<string, string>;
  control: string;
  kubeconfig?: string;
  awsEnv?: string;
  stateFile?: string;
}

export interface SandboxServer {
  start(): Promise<SandboxEndpoints>;
  /** Saves pending state and stops listening. */
  close(): Promise<void>;
  readonly url: string;
  endpoints(): SandboxEndpoints;
  readonly clock: SimClock;
  readonly faults: FaultInjector;
  readonly counters: SandboxCounters;
  readonly credentials: CredentialStore;
  readonly eks: EksSimulator;
  readonly iam: IamSimulator;
  readonly clusters: ClusterRegistry;
  readonly ec2: Ec2Simulator;
  readonly rds: RdsSimulator;
  readonly secretsManager: SecretsManagerSimulator;
  readonly route53: Route53Simulator;
  readonly aws: AwsOperationRegistry;
}

interface SandboxState {
  version: 1;
  savedAt: string;
  timeScale: number;
  eks: EksSnapshot;
  /** Absent in state saved before the sandbox had IAM. */
  iam?: IamSnapshot;
  kube: unknown;
  /** Absent in a state saved before the sandbox simulated EC2. */
  ec2?: Ec2Snapshot;
  /** Absent in a state saved before the sandbox simulated RDS. */
  rds?: RdsSnapshot;
  /** Absent in a state saved before the sandbox simulated Secrets Manager. */
  secretsManager?: SecretsManagerSnapshot;
  /** Absent in a state saved before the sandbox simulated Route 53. */
  route53?: Route53Snapshot;
  credentials: CredentialStoreSnapshot;
  counters: ReturnType<SandboxCounters['snapshot']>;
}

export function createSandboxServer(options: SandboxServerOptions): SandboxServer {
  const logger = options.logger ?? pino({ level: 'info' });
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? DEFAULT_REGION;
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const initialScale = options.timeScale ?? 1;
  const clock = createSimClock({ scale: initialScale });
  const faults = createFaultInjector();
  const counters = createSandboxCounters();
  const credentials = createCredentialStore(options.credentials === undefined ? {} : { credentials: options.credentials });
  const createClusterRegistry = options.createClusterRegistry ?? ((dependencies: ClusterRegistryDependencies) => createKubeSimulator(dependencies));
  const clusters = createClusterRegistry({
    clock,
    faults,
    counters,
    logger: logger.child({ half: 'kube' }),
    verifyToken: (name, token) => verifyEksBearer(name, token),
    // The Kubernetes half's cert-manager reaches this sandbox's Route 53 over HTTP, as the real one reaches AWS.
    awsEndpoint: () => (listening ? url : undefined),
    awsAmbientCredentials: options.credentials?.[0] ?? TEST_CREDENTIALS,
  });
  let url = '';
  /** While the port is open: a closed sandbox's simulated cert-manager must not call its own AWS any more. */
  let listening = false;
  let server: Server | undefined;
  /** Set once the saved state is loaded: a sandbox that could not read its state never overwrites it. */
  let loaded = false;
  let lastKubeconfig = '';
  let kubeconfigWrite: Promise<void> = Promise.resolve();
  const charts = createChartRepository(options.chartsDir !== undefined ? { chartsDir: options.chartsDir } : {});

  const stateDir = options.stateDir;
  const files = stateDir === undefined ? undefined : { kubeconfig: join(stateDir, 'kubeconfig'), awsEnv: join(stateDir, 'aws.env') };
  const store: StateStore<SandboxState> | undefined =
    stateDir === undefined
      ? undefined
      : createStateStore<SandboxState>({
          dir: stateDir,
          logger,
          ...(options.saveDebounceMs !== undefined ? { debounceMs: options.saveDebounceMs } : {}),
          // A stored Kubernetes object (a cluster snapshot's `{ storageKey, object }`) is frozen: a change makes a new one.
          immutable: (key, value, holder) =>
            key === 'object' && Object.isFrozen(value) && typeof holder === 'object' && holder !== null && typeof (holder as { storageKey?: unknown }).storageKey === 'string',
          read: () => ({
            version: 1,
            savedAt: new Date(clock.now()).toISOString(),
            timeScale: clock.scale,
            eks: eks.snapshot(),
            iam: iam.snapshot(),
            kube: clusters.snapshot(),
            ec2: ec2.snapshot(),
            rds: rds.snapshot(),
            secretsManager: secretsManager.snapshot(),
            route53: route53.snapshot(),
            credentials: credentials.snapshot(),
            counters: counters.snapshot(),
          }),
        });

  const eks: EksSimulator = createEksSimulator({
    clock,
    counters,
    clusters,
    accountId,
    logger: logger.child({ half: 'aws', service: 'eks' }),
    ...(options.eksDurations !== undefined ? { durations: options.eksDurations } : {}),
    kubeEndpoint: (name) => `${url}/k8s/${encodeURIComponent(name)}`,
    onChange: () => stateChanged(),
    // EKS checks what it is given against the sandbox's own IAM and EC2, as AWS does.
    roleTrusts: (roleArn, servicePrincipal) => iam.roleTrusts(roleArn, servicePrincipal),
    subnet: (regionName, subnetId) => ec2.region(regionName).subnets.find((s) => s.subnetId === subnetId),
  });

  const iam: IamSimulator = createIamSimulator({
    accountId,
    counters,
    logger: logger.child({ half: 'aws', service: 'iam' }),
    now: clock.now,
    onChange: () => store?.scheduleSave(),
  });

  const registry = createAwsOperationRegistry([
    ...eksOperations(eks),
    ...stsOperations({ credentials, now: clock.now, roles: (roleArn) => iam.roleForSts(roleArn) }),
    ...iamOperations(iam),
  ]);
  if (options.awsOperations) registry.add(...options.awsOperations({ credentials, clock }));
  const handleAws = createAwsRequestHandler({ registry, credentials, faults, accountId, logger: logger.child({ half: 'aws' }), now: clock.now });

  const ec2: Ec2Simulator = createEc2Simulator({
    clock,
    counters,
    ...(options.ec2Durations !== undefined ? { durations: options.ec2Durations } : {}),
    onChange: () => stateChanged(),
    // What EKS and RDS keep in a subnet, VPC or security group blocks its delete, as on AWS.
    dependents: {
      usesSubnet: (regionName, subnetId) => eks.usesSubnet(regionName, subnetId) || rds.usesSubnet(regionName, subnetId),
      usesVpc: (regionName, vpcId) => eks.usesVpc(regionName, vpcId) || rds.usesVpc(regionName, vpcId),
      usesSecurityGroup: (regionName, groupId) => rds.usesSecurityGroup(regionName, groupId),
    },
  });
  registry.add(...ec2Operations({ ec2 }));

  const secretsManager: SecretsManagerSimulator = createSecretsManagerSimulator({
    clock,
    counters,
    accountId,
    onChange: () => store?.scheduleSave(),
    // An RDS instance gone by now has taken its managed secret with it.
    beforeRead: () => {
      if (!rdsTouchingSecrets) withRdsTouchingSecrets(() => rds.advance());
    },
  });
  /** Set while RDS reads or writes Secrets Manager, so that Secrets Manager does not call back into RDS meanwhile. */
  let rdsTouchingSecrets = false;
  function withRdsTouchingSecrets<T>(fn: () => T): T {
    const was = rdsTouchingSecrets;
    rdsTouchingSecrets = true;
    try {
      return fn();
    } finally {
      rdsTouchingSecrets = was;
    }
  }
  registry.add(...secretsManagerOperations({ secrets: secretsManager }));

  const rds: RdsSimulator = createRdsSimulator({
    clock,
    counters,
    accountId,
    ...(options.rdsDurations !== undefined ? { durations: options.rdsDurations } : {}),
    onChange: () => store?.scheduleSave(),
    // Managed master passwords live in the sandbox's Secrets Manager, as on AWS.
    secrets: {
      create: (regionName, input) =>
        withRdsTouchingSecrets(() => ({ arn: secretsManager.createSecret(regionName, { ...input, owningService: 'rds' }).secret.arn })),
      put: (regionName, arn, secretString) => withRdsTouchingSecrets(() => void secretsManager.putSecretValue(regionName, { secretId: arn, secretString })),
      remove: (regionName, arn) =>
        withRdsTouchingSecrets(() => {
          if (secretsManager.list(regionName).some((s) => s.arn === arn)) secretsManager.deleteSecret(regionName, { secretId: arn, forceDeleteWithoutRecovery: true });
        }),
    },
    // RDS takes only the subnets and security groups EC2 holds.
    network: {
      subnet: (regionName, subnetId) => ec2.region(regionName).subnets.find((s) => s.subnetId === subnetId),
      securityGroup: (regionName, groupId) => ec2.region(regionName).securityGroups.find((g) => g.groupId === groupId),
      defaultSecurityGroup: (regionName, vpcId) => ec2.region(regionName).securityGroups.find((g) => g.vpcId === vpcId && g.isDefault)?.groupId,
    },
  });
  registry.add(...rdsOperations({ rds }));

  const route53: Route53Simulator = createRoute53Simulator({
    clock,
    counters,
    ...(options.route53Durations !== undefined ? { durations: options.route53Durations } : {}),
    onChange: () => store?.scheduleSave(),
    // A private zone's VPC must be one EC2 holds, as on AWS.
    vpcExists: (regionName, vpcId) => ec2.region(regionName).vpcs.some((v) => v.vpcId === vpcId),
  });
  registry.add(...route53Operations({ route53 }));

  function kubeconfigNames(): string[] {
    const present = new Set(clusters.listClusters().map((c) => c.name));
    return [LOCAL_CLUSTER, ...eks.activeKubeClusters()].filter((name) => present.has(name));
  }

  function kubeconfigText(): string {
    return clusters.kubeconfig(url, kubeconfigNames());
  }

  function stateChanged(): void {
    store?.scheduleSave();
    if (files === undefined || url === '') return;
    const text = kubeconfigText();
    if (text === lastKubeconfig) return;
    lastKubeconfig = text;
    kubeconfigWrite = kubeconfigWrite
      .then(() => writeFileAtomic(files.kubeconfig, text))
      .catch((error: unknown) => logger.error({ err: error }, 'writing kubeconfig failed'));
  }

  function verifyEksBearer(kubeClusterName: string, token: string): boolean {
    if (!isEksToken(token)) return false;
    const owner = eks.clusterOfKube(kubeClusterName);
    if (owner === undefined) return false;
    const check = verifyEksToken(token, { clusterName: owner.name, credentials, now: clock.now() });
    if (!check.ok) logger.info({ cluster: kubeClusterName, reason: check.reason }, 'EKS token refused');
    return check.ok;
  }

  function ensureLocalCluster(): void {
    if (!clusters.listClusters().some((c) => c.name === LOCAL_CLUSTER)) clusters.addCluster(LOCAL_CLUSTER);
  }

  function endpoints(): SandboxEndpoints {
    return {
      url,
      aws: url,
      kube: Object.fromEntries(kubeconfigNames().map((name) => [name, `${url}/k8s/${encodeURIComponent(name)}`])),
      control: `${url}/_sandbox`,
      ...(files ? { kubeconfig: files.kubeconfig, awsEnv: files.awsEnv } : {}),
      ...(store ? { stateFile: store.path } : {}),
    };
  }

  function awsEnvText(): string {
    const credential = options.credentials?.[0] ?? TEST_CREDENTIALS;
    return [
      '# Written by the Tugboat sandbox: the simulated AWS for SDKs and the aws CLI.',
      `AWS_ENDPOINT_URL=${url}`,
      `AWS_REGION=${region}`,
      `AWS_DEFAULT_REGION=${region}`,
      `AWS_ACCESS_KEY_ID=${credential.accessKeyId}`,
      `AWS_SECRET_ACCESS_KEY=${credential.secretAccessKey}`,
      '',
    ].join('\n');
  }

  const app = express();
  app.disable('x-powered-by');
  app.use(
    '/_sandbox',
    createControlApi({
      logger,
      target: {
        health: () => ({ region, accountId, timeScale: clock.scale }),
        timeScale: () => clock.scale,
        setTimeScale(scale) {
          clock.setScale(scale);
          eks.reschedule();
          clusters.rescheduleTimers();
          store?.scheduleSave();
        },
        faults: () => faults.list(),
        addFault: (rule) => faults.add(rule),
        clearFaults: () => faults.clear(),
        counters: () => ({
          ...counters.snapshot(),
          current: {
            ...eks.inventory(),
            ...iam.inventory(),
            kubeClusters: kubeInventory(clusters),
            ec2: ec2.inventory(),
            rds: rds.inventory(),
            secretsManager: secretsManager.inventory(),
            route53: route53.inventory(),
          },
        }),
        credentials: () => credentials.describe(),
        restrictCredentials: (list) => credentials.restrict(list),
        async reset() {
          faults.clear();
          eks.reset();
          iam.reset();
          clusters.reset();
          ec2.reset();
          rds.reset();
          secretsManager.reset();
          route53.reset();
          credentials.reset();
          clock.setScale(initialScale);
          counters.reset();
          ensureLocalCluster();
          stateChanged();
          await store?.flush();
        },
        endpoints,
        kubeconfig: kubeconfigText,
        prometheusTargets: (cluster, namespace, name) => clusters.prometheusTargets?.(cluster, namespace, name),
      },
    }),
  );
  app.use('/k8s', (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') res.once('finish', () => stateChanged());
    clusters.handler(req, res, next);
  });
  // Before the AWS half, which takes every other request: unsigned `/charts/…` and `/v2/…` only.
  app.use(charts.handler);
  app.use((req: Request, res: Response, next: NextFunction) => {
    req.url = req.originalUrl;
    handleAws(req, res).catch(next);
  });

  return {
    get url() {
      return url;
    },
    clock,
    faults,
    counters,
    credentials,
    eks,
    iam,
    clusters,
    ec2,
    rds,
    secretsManager,
    route53,
    aws: registry,
    endpoints,
    async start() {
      const saved = await store?.load();
      if (saved !== undefined) {
        if (options.timeScale === undefined) clock.setScale(saved.timeScale);
        clusters.restore(saved.kube);
        credentials.restore(saved.credentials);
        if (saved.ec2 !== undefined) ec2.restore(saved.ec2);
        rds.restore(saved.rds);
        secretsManager.restore(saved.secretsManager);
        route53.restore(saved.route53);
        eks.restore(saved.eks);
        iam.restore(saved.iam);
        if (saved.counters !== undefined) counters.restore(saved.counters);
        logger.info({ path: store?.path, clusters: saved.eks.clusters.length }, 'sandbox state restored');
      }
      loaded = true;
      ensureLocalCluster();
      server = createServer(app);
      await new Promise<void>((resolve, reject) => {
        server?.once('error', reject);
        server?.listen(options.port ?? DEFAULT_PORT, host, () => resolve());
      });
      const address = server.address() as AddressInfo;
      url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
      listening = true;
      if (files) {
        await writeFileAtomic(files.awsEnv, awsEnvText());
        lastKubeconfig = kubeconfigText();
        await writeFileAtomic(files.kubeconfig, lastKubeconfig);
      }
      eks.advance();
      await store?.flush(true);
      return endpoints();
    },
    async close() {
      eks.close();
      listening = false;
      if (server) {
        const closing = server;
        server = undefined;
        closing.closeAllConnections();
        await new Promise<void>((resolve) => closing.close(() => resolve()));
      }
      // Forced: the Kubernetes half's simulated controllers change objects without any request.
      if (loaded) await store?.flush(true);
      await kubeconfigWrite;
    },
  };
}

/**
 * The simulated Kubernetes clusters as the counters show them: name, nodes, and how many objects
 * of each type exist now (counted in the Kubernetes half's snapshot, the one place that has them
 * all). Bearer tokens are left out.
 */
function kubeInventory(clusters: ClusterRegistry): Array<Record<string, unknown>> {
  const snapshot = clusters.snapshot() as { clusters?: Array<{ name?: unknown; objects?: Array<{ object?: { apiVersion?: unknown; kind?: unknown } }> }> };
  const objectsByCluster = new Map<string, Record<string, number>>();
  for (const cluster of Array.isArray(snapshot?.clusters) ? snapshot.clusters : []) {
    if (typeof cluster.name !== 'string' || !Array.isArray(cluster.objects)) continue;
    const counts: Record<string, number> = {};
    for (const { object } of cluster.objects) {
      const type = `${String(object?.apiVersion)}/${String(object?.kind)}`;
      counts[type] = (counts[type] ?? 0) + 1;
    }
    objectsByCluster.set(cluster.name, counts);
  }
  return clusters.listClusters().map(({ token: _token, ...summary }) => ({
    ...summary,
    ...(objectsByCluster.has(summary.name) ? { objects: objectsByCluster.get(summary.name) } : {}),
  }));
}
