/**
 * App delivery (issue 15), end to end: the real API, NATS, the sandbox (EKS clusters labelled
 * `tugboat.dev/tier: dev` and `prod`, a third one to migrate to, RDS, Route 53; 900× time) and the
 * infra-, cluster-, workload-, managed-services- and support-services-controllers as processes.
 *
 * - An Application with a workload, a database and an exposure: its dry run lists exactly what the
 *   apply then does (object by object), prod's share as pending approval; Ready on dev at once and
 *   on prod once an editor approves, each cluster with its own database and its own host.
 * - Releases made by the commands of `examples/ci/` with a service-account token: Ready on dev at
 *   once, PendingApproval on prod (approval refused while not Ready on dev, refused to a viewer,
 *   accepted from an editor) → prod runs the same digest; `tug rollout undo` → the previous digest
 *   on both tiers; a rejection keeps prod where it is; `tug rollout history` lists it all.
 * - The dev tier moved to another cluster: a migration, Ready there before it is removed from the
 *   first, the workload (and its exposure) before the database it used.
 * - Deleted → everything gone in dependency order, checked in the API and in the sandbox (kubectl, aws).
 */
import type { ApplyItemResult, Condition, Resource } from '@tugboat/resource-model';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NODE_TS, REPO_ROOT, runTug, waitUntil } from './harness/cli-processes.js';
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

  const tokens: Record<string, string> = {};
  const get = (kind: string, name: string) => stack.admin.get({ kind, project: 'shop', name });
  const tug = async (who: string, ...args: string[]) => runTug([...args, '--project', 'shop'], { env: { TUGBOAT_URL: stack.api.url, TUGBOAT_TOKEN: tokens[who]! } });
  /** The image the sandbox's Deployment of the app on `cluster` runs. */
  const runningImage = async (cluster: string) => {
    const namespace = String(statusOf(await get('WorkloadInstance', `shop-web-${cluster}`)).outputs?.['namespace']);
    const deployments = JSON.parse(await stack.kubectl('--context', `${cluster}-us-east-1`, 'get', 'deployments', '-n', namespace, '-o', 'json')) as { items: Array<{ spec: { template: { spec: { containers: Array<{ image: string }> } } } }> };
    return deployments.items[0]?.spec.template.spec.containers[0]?.image;
  };
  /** Until the copy on `cluster` is Ready at `image` (its spec seen by the controller) and the sandbox runs it. */
  const readyAt = (cluster: string, image: string) =>
    waitUntil(
      async () => {
        const obj = await get('WorkloadInstance', `shop-web-${cluster}`);
        const spec = obj?.spec as { overrides?: { image?: string } } | undefined;
        const current = statusOf(obj).phase === 'Ready' && (obj?.status.observedGeneration ?? 0) >= (obj?.metadata.generation ?? 1);
        return current && spec?.overrides?.image === image && (await runningImage(cluster)) === image ? true : undefined;
      },
      `shop-web-${cluster} Ready at ${image}`,
      60_000,
    );
  const pendingApproval = async () => statusOf(await get('Application', 'shop')).conditions?.find((c) => c.type === 'PendingApproval');
  /** Runs `examples/ci/create-release.sh` as the workflow does after pushing the image. */
  async function releaseFromCi(n: number): Promise<string> {
    const digest = `sha256:${String(n).repeat(64).slice(0, 64)}`;
    const { stdout } = await promisify(execFile)('sh', ['examples/ci/create-release.sh'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        IMAGE: 'ghcr.io/example/shop',
        DIGEST: digest,
        COMMIT: `${n}`.repeat(40).slice(0, 40),
        BUILD_URL: `https://github.com/example/shop/actions/runs/${n}`,
        APPLICATION: 'shop',
        COMPONENT: 'web',
        PROJECT: 'shop',
        TUGBOAT_URL: stack.api.url,
        TUGBOAT_TOKEN: tokens.ci,
        TUGBOAT_CONFIG: '/dev/null',
        TUG: `${NODE_TS.join(' ')} libs/cli/src/bin.ts`,
      },
    });
    expect(stdout).toContain('shop-web-');
    return `ghcr.io/example/shop@${digest}`;
  }
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
  async function watchRemoval(clusters: string[], done: (rows: Awaited<ReturnType<typeof snapshot>>) => boolean, what: string, before?: () => Promise<void>) {
    const seen: string[] = [];
    await waitUntil(
      async () => {
        await before?.();
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
      // Where the dev tier moves to later (no tier yet: nothing runs there).
      { kind: 'ClusterInstance', metadata: { name: 'dev2' }, spec: { definitionRef: { name: 'eks' }, accountRef: { name: 'main' } } },
      { kind: 'DeliveryPolicy', metadata: { name: 'dev' }, spec: { tier: 'dev', mode: 'automatic' } },
      { kind: 'DeliveryPolicy', metadata: { name: 'prod' }, spec: { tier: 'prod', mode: 'approval', approvers: { roles: ['editor', 'admin'] }, requires: { tier: 'dev' } } },
      {
        kind: 'DatabaseDefinition',
        metadata: { name: 'pg' },
        spec: { engine: 'postgres', allowedVersions: ['16.6'], allowedInstanceClasses: ['db.t3.micro'], storageGb: { min: 20, max: 100 }, deletionPolicy: 'delete', defaults: { version: '16.6', instanceClass: 'db.t3.micro', storageGb: 20 } },
      },
      { kind: 'DomainDefinition', metadata: { name: 'example' }, spec: { domain: DOMAIN, accountRef: { name: 'main' }, acme: { email: 'platform@example.test' } } },
      { kind: 'GatewayDefinition', metadata: { name: 'public' }, spec: {} },
      { kind: 'WorkloadDefinition', metadata: { name: 'web' }, spec: { container: { image: 'nginxdemos/hello:0.4', ports: [{ name: 'http', port: 8080 }] }, overridable: ['image', 'replicas', 'env'], maxReplicas: 3 } },
    ]);
    await stack.admin.patch({ kind: 'Project', name: 'shop' }, { spec: { members: [{ user: 'vic', role: 'viewer' }, { user: 'eddie', role: 'editor' }] } });
    tokens.viewer = (await stack.admin.createToken({ name: 'vic-laptop', user: 'vic' })).token;
    tokens.editor = (await stack.admin.createToken({ name: 'eddie-laptop', user: 'eddie' })).token;
    // The pipeline's service account (examples/ci/README.md).
    tokens.ci = (await stack.admin.createToken({ name: 'shop-ci', project: 'shop', role: 'editor' })).token;
    await Promise.all(
      ['dev', 'prod', 'dev2'].map((name) => waitUntil(async () => statusOf(await stack.admin.get({ kind: 'ClusterInstance', name })).phase === 'Ready', `ClusterInstance ${name} Ready`, 120_000)),
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
      // prod rolls out on approval: its share waits in a Rollout.
      'pending DatabaseInstance/shop-db-prod',
      'pending WorkloadInstance/shop-web-prod',
    ]);
    expect(plan.results.filter((r) => r.action === 'pending').map((r) => r.rollout)).toEqual(['shop-prod-1', 'shop-prod-1']);
    expect(await snapshot()).toEqual([]);
    const applied = await stack.admin.apply([shop]);
    expect(applied.results).toEqual(plan.results);
    await waitUntil(async () => ((await pendingApproval())?.status === 'True' ? true : undefined), 'the Application PendingApproval on prod', 60_000);
    expect((await pendingApproval())?.message).toContain('shop-prod-1');
    const approved = await tug('editor', 'rollout', 'approve', 'shop-prod-1');
    expect(approved).toMatchObject({ code: 0 });
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

  it('rolls releases from CI out: dev at once, prod on an editor’s approval once Ready on dev; undo, rejection and history', async () => {
    const r1 = await releaseFromCi(1);
    await readyAt('dev', r1);
    await waitUntil(async () => ((await pendingApproval())?.message?.includes('shop-prod-2') ? true : undefined), 'prod PendingApproval for the release', 30_000);
    const viewer = await tug('viewer', 'rollout', 'approve', 'shop-prod-2');
    expect(viewer.code).not.toBe(0);
    expect(viewer.stderr).toContain('editor or admin');
    expect(await tug('editor', 'rollout', 'approve', 'application/shop', '--tier', 'prod')).toMatchObject({ code: 0 });
    // Promotion carries the same digest.
    await readyAt('prod', r1);

    const r2 = await releaseFromCi(2);
    await readyAt('dev', r2);
    expect(await tug('editor', 'rollout', 'approve', 'application/shop', '--tier', 'prod')).toMatchObject({ code: 0 });
    await readyAt('prod', r2);

    // Back to the previous digest on both tiers: dev at once, prod approved by the editor who undoes.
    expect(await tug('editor', 'rollout', 'undo', 'application/shop')).toMatchObject({ code: 0 });
    await Promise.all([readyAt('dev', r1), readyAt('prod', r1)]);

    const r3 = await releaseFromCi(3);
    await readyAt('dev', r3);
    expect(await tug('editor', 'rollout', 'reject', 'application/shop', '--tier', 'prod', '--message', 'not this week')).toMatchObject({ code: 0 });
    expect(await runningImage('prod')).toBe(r1);
    await waitUntil(async () => ((await pendingApproval())?.status === 'False' ? true : undefined), 'nothing pending once rejected', 30_000);

    const history = await tug('viewer', 'rollout', 'history', 'application/shop', '--tier', 'prod');
    expect(history.code).toBe(0);
    for (const line of ['Rejected', 'Applied', 'shop-web-3']) expect(history.stdout).toContain(line);
    const audit = await stack.admin.listAudit({ action: 'approve', project: 'shop' });
    expect(audit.items.map((r) => `${r.actor} ${r.name}`)).toEqual(expect.arrayContaining(['eddie shop-prod-1', 'eddie shop-prod-2']));
  }, 240_000);

  it('migrates the dev tier to another cluster: Ready there before it is removed from the first, the workload before its database', async () => {
    const image = (await get('WorkloadInstance', 'shop-web-dev'))!.spec as { overrides: { image: string } };
    await stack.admin.patch({ kind: 'ClusterInstance', name: 'dev2' }, { metadata: { labels: { [TIER]: 'dev' } } });
    await stack.admin.patch({ kind: 'ClusterInstance', name: 'dev' }, { metadata: { labels: { [TIER]: 'staging' } } });
    let replacementReadyFirst = false;
    const seen = await watchRemoval(
      ['dev'],
      (rows) => {
        if (rows.some((r) => r.kind === 'WorkloadInstance' && r.name === 'shop-web-dev' && r.deleting) && !replacementReadyFirst) {
          throw new Error('shop-web-dev is being removed before shop-web-dev2 is Ready');
        }
        return !rows.some((r) => r.name.endsWith('-dev'));
      },
      'the dev copies migrated to dev2',
      async () => {
        const replacement = await get('WorkloadInstance', 'shop-web-dev2');
        if (statusOf(replacement).phase === 'Ready') replacementReadyFirst = true;
      },
    );
    expect(seen).toEqual(expect.arrayContaining(['dev: workload gone, database deleting']));
    // The migrated copy runs the same release the tier ran.
    await readyAt('dev2', image.overrides.image);
    const app = await waitUntil(async () => {
      const obj = await get('Application', 'shop');
      return statusOf(obj).phase === 'Ready' && statusOf(obj).clusters?.length === 2 ? obj : undefined;
    }, 'the Application Ready on dev2 and prod', 60_000);
    expect(statusOf(app).clusters?.map((c) => c.cluster)).toEqual(['dev2', 'prod']);
    // Gone from the dev cluster and from Route 53 too.
    expect(JSON.parse(await stack.kubectl('--context', 'dev-us-east-1', 'get', 'namespaces', '-l', 'tugboat.dev/namespace-owner', '-o', 'json')).items).toEqual([]);
    const zones = (await stack.aws('route53', 'list-hosted-zones')).HostedZones as Array<{ Id: string; Name: string }>;
    const zone = zones.find((z) => z.Name === `${DOMAIN}.`)!;
    const names = ((await stack.aws('route53', 'list-resource-record-sets', '--hosted-zone-id', zone.Id)).ResourceRecordSets as Array<{ Name: string }>).map((r) => r.Name);
    expect(names.filter((n) => n.includes('web.dev.'))).toEqual([]);
    expect(names.filter((n) => n.includes('web.dev2.'))).not.toEqual([]);
  }, 180_000);

  it('deletes everything in dependency order, the Application last: nothing left in the API or the sandbox', async () => {
    await stack.admin.delete({ kind: 'Application', project: 'shop', name: 'shop' });
    const deleting = await waitUntil(async () => {
      const obj = await get('Application', 'shop');
      return statusOf(obj).deletionStep !== undefined ? obj : undefined;
    }, 'the Application showing its deletion step', 30_000);
    expect(statusOf(deleting).deletionStep).toMatch(/^removing workloads and their exposures first|^removing the databases/);
    const seen = await watchRemoval(['prod', 'dev2'], (rows) => rows.length === 0, 'everything the Application owned gone');
    expect(seen).toEqual(expect.arrayContaining(['prod: workload gone, database deleting']));
    await waitUntil(async () => ((await get('Application', 'shop')) === undefined ? true : undefined), 'the Application gone', 30_000);

    const instances = (await stack.aws('rds', 'describe-db-instances')).DBInstances as unknown[];
    expect(instances).toEqual([]);
    for (const cluster of ['dev', 'dev2', 'prod']) {
      expect(JSON.parse(await stack.kubectl('--context', `${cluster}-us-east-1`, 'get', 'namespaces', '-l', 'tugboat.dev/namespace-owner', '-o', 'json')).items).toEqual([]);
    }
  }, 120_000);
});
