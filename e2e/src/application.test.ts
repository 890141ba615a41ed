/**
 * One app config (issue 15, first part), end to end: the real API, NATS, the sandbox (two EKS
 * clusters labelled `tugboat.dev/tier: dev` and `prod`, RDS, Route 53; 900× time) and the infra-, cluster-,
 * workload-, managed-services- and support-services-controllers as processes.
 *
 * An Application with a workload, a database and an exposure → Ready on dev and prod, each cluster
 * with its own database and its own host; its dry run lists exactly what the apply then does
 * (object by object); the dev cluster relabelled out of its tier → its copies removed (re-expanded
 * by the workload-controller), workloads before the databases they use; the Application deleted →
 * everything gone in dependency order, checked in the API and in the sandbox (kubectl, aws).
 */
import type { ApplyItemResult, Condition, Resource } from '@tugboat/resource-model';
import { waitUntil } from './harness/cli-processes.js';
import { ACCOUNT_ID, EKS_KEYS, startEksStack, type EksStack } from './harness/eks-stack.js';

const DOMAIN = 'apps.example.test';
const TIER = 'tugboat.dev/tier';
/**
 * Listed in this order so each look is sound without one snapshot of all: a database seen deleting
 * before its workload is read, and a workload seen gone before its Exposure is read (nothing comes back).
 */
const OWNED = ['DatabaseInstance', 'WorkloadInstance', 'Exposure'] as const;

interface StatusView {
  phase?: string;
  conditions?: Condition[];
  outputs?: Record<string, unknown>;
  clusters?: Array<{ cluster: string; tier?: string; phase: string; components: Array<{ component: string; kind: string; object: string; phase: string }> }>;
  deletionStep?: string;
}
const statusOf = (obj: Resource | undefined) => (obj?.status ?? {}) as StatusView;

const shop = {
  kind: 'Application',
  metadata: { name: 'shop', project: 'shop' },
  spec: {
    parameters: [{ name: 'replicas', type: 'integer', default: 1 }],
    targets: [{ tier: 'dev' }, { tier: 'prod', parameters: { replicas: 2 } }],
    databases: [{ name: 'db', definitionRef: { name: 'pg' }, databaseName: 'shop' }],
    workloads: [
      {
        name: 'web',
        definitionRef: { name: 'web' },
        databases: [{ component: 'db', envPrefix: 'DB' }],
        // Its own host per cluster (and so per tier): web.<cluster>.<domain>.
        expose: { domainRef: { name: 'example' }, gatewayRef: { name: 'public' }, port: 8080, host: 'web.${cluster}', tls: { enabled: false } },
        overrides: { replicas: '${replicas}', env: { TIER: '${tier}' } },
      },
    ],
  },
};

describe('an Application on two clusters (API, sandbox and controllers as processes)', () => {
  let stack: EksStack;

  const get = (kind: string, name: string) => stack.admin.get({ kind, project: 'shop', name });
  /** What the API holds for the app now: every owned object (and each workload's Exposure), with whether it is being deleted. */
  const snapshot = async () => {
    const rows: Array<{ kind: string; name: string; deleting: boolean }> = [];
    for (const kind of OWNED) {
      for await (const obj of stack.admin.listAll(kind, { project: 'shop' })) rows.push({ kind, name: obj.metadata.name, deleting: Boolean(obj.metadata.deletionRequestedAt) });
    }
    return rows;
  };
  /**
   * Polls until `done`, checking at every look that removal keeps dependency order: no database is
   * being deleted while a workload of its cluster is still there, and no workload is gone while its
   * Exposure is still there. Returns what it saw, in order.
   */
  async function watchRemoval(clusters: string[], done: (rows: Awaited<ReturnType<typeof snapshot>>) => boolean, what: string) {
    const seen: string[] = [];
    await waitUntil(
      async () => {
        const rows = await snapshot();
        for (const cluster of clusters) {
          const workload = rows.find((r) => r.kind === 'WorkloadInstance' && r.name === `shop-web-${cluster}`);
          const database = rows.find((r) => r.kind === 'DatabaseInstance' && r.name === `shop-db-${cluster}`);
          const exposure = rows.find((r) => r.kind === 'Exposure' && r.name === `shop-web-${cluster}`);
          if (database?.deleting && workload) throw new Error(`DatabaseInstance shop-db-${cluster} is being deleted while its workload is still there`);
          if (!workload && exposure) throw new Error(`WorkloadInstance shop-web-${cluster} is gone before its Exposure`);
          const state = `${cluster}: workload ${workload ? (workload.deleting ? 'deleting' : 'live') : 'gone'}, database ${database ? (database.deleting ? 'deleting' : 'live') : 'gone'}`;
          if (seen.at(-1) !== state && !seen.includes(state)) seen.push(state);
        }
        return done(rows) ? true : undefined;
      },
      what,
      90_000,
    );
    return seen;
  }

  beforeAll(async () => {
    stack = await startEksStack({ name: 'app-e2e', projects: ['shop'], timeScale: 900 });
    await stack.startInfraController();
    await stack.startController('managed-services-controller', { DB_POLL_MS: '250', AWS_RETRY_MS: '200', AWS_REQUEST_TIMEOUT_MS: '5000' });
    await stack.startController('support-services-controller', { EXPOSURE_PROGRESS_MS: '250', EXPOSURE_WAIT_MS: '1000', EXPOSURE_RECHECK_MS: '1000', DNS_POLL_MS: '100', DNS_WAIT_MS: '5000', AWS_RETRY_MS: '200', AWS_REQUEST_TIMEOUT_MS: '5000' });
    const eks = { provider: 'eks', allowedVersions: ['1.31'], allowedRegions: ['us-east-1'], allowedNodeSizes: ['m5.large'], defaults: { region: 'us-east-1', version: '1.31', nodeGroups: [{ name: 'general', instanceType: 'm5.large', minSize: 1, maxSize: 3, desiredSize: 1 }] } };
    await stack.admin.apply([
      { kind: 'AwsAccount', metadata: { name: 'main' }, spec: { accountId: ACCOUNT_ID, region: 'us-east-1', endpoint: stack.sandboxUrl, ...EKS_KEYS } },
      { kind: 'ClusterDefinition', metadata: { name: 'eks' }, spec: eks },
      { kind: 'ClusterInstance', metadata: { name: 'dev', labels: { [TIER]: 'dev' } }, spec: { definitionRef: { name: 'eks' }, accountRef: { name: 'main' } } },
      { kind: 'ClusterInstance', metadata: { name: 'prod', labels: { [TIER]: 'prod' } }, spec: { definitionRef: { name: 'eks' }, accountRef: { name: 'main' } } },
      {
        kind: 'DatabaseDefinition',
        metadata: { name: 'pg' },
        spec: { engine: 'postgres', allowedVersions: ['16.6'], allowedInstanceClasses: ['db.t3.micro'], storageGb: { min: 20, max: 100 }, deletionPolicy: 'delete', defaults: { version: '16.6', instanceClass: 'db.t3.micro', storageGb: 20 } },
      },
      { kind: 'DomainDefinition', metadata: { name: 'example' }, spec: { domain: DOMAIN, accountRef: { name: 'main' }, acme: { email: 'platform@example.test' } } },
      { kind: 'GatewayDefinition', metadata: { name: 'public' }, spec: {} },
      { kind: 'WorkloadDefinition', metadata: { name: 'web' }, spec: { container: { image: 'nginxdemos/hello:0.4', ports: [{ name: 'http', port: 8080 }] }, overridable: ['replicas', 'env'], maxReplicas: 3 } },
    ]);
    await Promise.all(
      ['dev', 'prod'].map((name) => waitUntil(async () => statusOf(await stack.admin.get({ kind: 'ClusterInstance', name })).phase === 'Ready', `ClusterInstance ${name} Ready`, 120_000)),
    );
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('runs on dev and prod, each with its own database and host; the dry run lists exactly what the apply did', async () => {
    const plan = await stack.admin.apply([shop], { dryRun: true });
    expect(plan.results.map((r) => `${r.action} ${r.kind}/${r.name}`)).toEqual([
      'created Application/shop',
      'created DatabaseInstance/shop-db-dev',
      'created WorkloadInstance/shop-web-dev',
      'created DatabaseInstance/shop-db-prod',
      'created WorkloadInstance/shop-web-prod',
    ]);
    expect(await snapshot()).toEqual([]);
    const applied = await stack.admin.apply([shop]);
    expect(applied.results).toEqual(plan.results);
    for (const item of plan.results.slice(1) as ApplyItemResult[]) {
      const stored = await get(item.kind, item.name);
      expect({ object: `${item.kind}/${item.name}`, spec: stored?.spec }).toEqual({ object: `${item.kind}/${item.name}`, spec: item.spec });
      expect(stored?.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}`)).toEqual(['Application/shop']);
    }

    const ready = await waitUntil(async () => {
      const app = await get('Application', 'shop');
      return statusOf(app).phase === 'Ready' ? app : undefined;
    }, 'the Application Ready on dev and prod', 120_000);
    expect(statusOf(ready).clusters?.map((c) => `${c.cluster} ${c.tier} ${c.phase} ${c.components.map((x) => `${x.component}:${x.phase}`).join(',')}`)).toEqual([
      'dev dev Ready db:Ready,web:Ready',
      'prod prod Ready db:Ready,web:Ready',
    ]);

    // Each cluster its own database (two RDS instances) and its own host, in the sandbox.
    const databases = ((await stack.aws('rds', 'describe-db-instances')).DBInstances as Array<{ DBInstanceIdentifier: string; Endpoint?: { Address: string } }>).map((d) => d.Endpoint?.Address);
    expect(new Set(databases).size).toBe(2);
    const urls = await Promise.all(['dev', 'prod'].map(async (cluster) => statusOf(await get('Exposure', `shop-web-${cluster}`)).outputs?.['url']));
    expect(urls).toEqual([`http://web.dev.${DOMAIN}`, `http://web.prod.${DOMAIN}`]);
    for (const [cluster, replicas] of [['dev', 1], ['prod', 2]] as const) {
      const namespace = String(statusOf(await get('WorkloadInstance', `shop-web-${cluster}`)).outputs?.['namespace']);
      const deployments = JSON.parse(await stack.kubectl('--context', `${cluster}-us-east-1`, 'get', 'deployments', '-n', namespace, '-o', 'json')) as { items: Array<{ spec: { replicas: number; template: { spec: { containers: Array<{ env?: Array<{ name: string; value?: string }>; envFrom?: unknown[] }> } } } }> };
      expect(deployments.items).toHaveLength(1);
      const [deployment] = deployments.items;
      expect(deployment!.spec.replicas).toBe(replicas);
      expect(deployment!.spec.template.spec.containers[0]!.env).toEqual(expect.arrayContaining([{ name: 'TIER', value: cluster }]));
      expect(deployment!.spec.template.spec.containers[0]!.envFrom).toEqual([expect.objectContaining({ prefix: 'DB_' })]);
    }
  }, 240_000);

  it('re-expands when a cluster leaves the tier: its copies go, the workload (and its exposure) before the database it used', async () => {
    await stack.admin.patch({ kind: 'ClusterInstance', name: 'dev' }, { metadata: { labels: { [TIER]: 'staging' } } });
    const seen = await watchRemoval(['dev'], (rows) => !rows.some((r) => r.name.endsWith('-dev')), 'the dev copies gone');
    expect(seen).toEqual(expect.arrayContaining(['dev: workload gone, database deleting']));
    expect(seen.indexOf('dev: workload gone, database deleting')).toBeGreaterThan(seen.findIndex((s) => s.startsWith('dev: workload deleting')));
    const app = await waitUntil(async () => {
      const obj = await get('Application', 'shop');
      return statusOf(obj).phase === 'Ready' && statusOf(obj).clusters?.length === 1 ? obj : undefined;
    }, 'the Application Ready on prod alone', 60_000);
    expect(statusOf(app).clusters?.map((c) => c.cluster)).toEqual(['prod']);
    // Gone from the dev cluster and from Route 53 too.
    expect(JSON.parse(await stack.kubectl('--context', 'dev-us-east-1', 'get', 'namespaces', '-l', 'tugboat.dev/namespace-owner', '-o', 'json')).items).toEqual([]);
    const zones = (await stack.aws('route53', 'list-hosted-zones')).HostedZones as Array<{ Id: string; Name: string }>;
    const zone = zones.find((z) => z.Name === `${DOMAIN}.`)!;
    const names = ((await stack.aws('route53', 'list-resource-record-sets', '--hosted-zone-id', zone.Id)).ResourceRecordSets as Array<{ Name: string }>).map((r) => r.Name);
    expect(names.filter((n) => n.includes('web.dev.'))).toEqual([]);
    expect(names.filter((n) => n.includes('web.prod.'))).not.toEqual([]);
  }, 120_000);

  it('deletes everything in dependency order, the Application last: nothing left in the API or the sandbox', async () => {
    await stack.admin.delete({ kind: 'Application', project: 'shop', name: 'shop' });
    const deleting = await waitUntil(async () => {
      const obj = await get('Application', 'shop');
      return statusOf(obj).deletionStep !== undefined ? obj : undefined;
    }, 'the Application showing its deletion step', 30_000);
    expect(statusOf(deleting).deletionStep).toMatch(/^removing workloads and their exposures first|^removing the databases/);
    const seen = await watchRemoval(['prod'], (rows) => rows.length === 0, 'everything the Application owned gone');
    expect(seen).toEqual(expect.arrayContaining(['prod: workload gone, database deleting']));
    await waitUntil(async () => ((await get('Application', 'shop')) === undefined ? true : undefined), 'the Application gone', 30_000);

    const instances = (await stack.aws('rds', 'describe-db-instances')).DBInstances as unknown[];
    expect(instances).toEqual([]);
    for (const cluster of ['dev', 'prod']) {
      expect(JSON.parse(await stack.kubectl('--context', `${cluster}-us-east-1`, 'get', 'namespaces', '-l', 'tugboat.dev/namespace-owner', '-o', 'json')).items).toEqual([]);
    }
  }, 120_000);
});
