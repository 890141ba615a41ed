/**
 * Managed databases (issue 12), end to end: the real API, NATS, the sandbox (AWS and Kubernetes,
 * 300× time) and the infra-, cluster-, workload- and managed-services-controllers as processes.
 *
 * An EKS cluster from nothing, a DatabaseInstance in its network → Ready; an app that uses it →
 * Ready with the connection Secret in its namespace (kubectl); storage grown (aws rds); the
 * password rotated → the Secret follows and the pods roll; the database's delete refused while the
 * app uses it; the app deleted; the database deleted → its final snapshot exists and nothing else
 * is left. The generated password (a canary: RDS made it, the test reads it from Secrets Manager)
 * never appears in an API answer, a revision, an event, a watch frame or a log line.
 */
import { isErrorCode, type Condition, type Resource } from '@tugboat/resource-model';
import { waitUntil } from './harness/cli-processes.js';
import { ACCOUNT_ID, EKS_KEYS, startEksStack, type EksStack } from './harness/eks-stack.js';

interface StatusView {
  phase?: string;
  observedGeneration?: number;
  conditions?: Condition[];
  outputs?: Record<string, unknown>;
}
const statusOf = (obj: Resource | undefined) => (obj?.status ?? {}) as StatusView;
const readyOf = (obj: Resource | undefined) => statusOf(obj).conditions?.find((c) => c.type === 'Ready');

describe('managed databases (API, sandbox and controllers as processes)', () => {
  let stack: EksStack;

  beforeAll(async () => {
    stack = await startEksStack({ name: 'db-e2e', projects: ['shop'] });
    await stack.startInfraController();
    await stack.startController('managed-services-controller', { DB_POLL_MS: '250', AWS_RETRY_MS: '200', AWS_REQUEST_TIMEOUT_MS: '5000' });
    await stack.admin.apply([
      { kind: 'AwsAccount', metadata: { name: 'main' }, spec: { accountId: ACCOUNT_ID, region: 'us-east-1', endpoint: stack.sandboxUrl, ...EKS_KEYS } },
      {
        kind: 'ClusterDefinition',
        metadata: { name: 'eks' },
        spec: {
          provider: 'eks',
          allowedVersions: ['1.31'],
          allowedRegions: ['us-east-1'],
          allowedNodeSizes: ['m5.large'],
          defaults: { region: 'us-east-1', version: '1.31', nodeGroups: [{ name: 'general', instanceType: 'm5.large', minSize: 1, maxSize: 3, desiredSize: 2 }] },
        },
      },
      { kind: 'ClusterInstance', metadata: { name: 'prod' }, spec: { definitionRef: { name: 'eks' }, accountRef: { name: 'main' } } },
      {
        kind: 'DatabaseDefinition',
        metadata: { name: 'postgres-small' },
        spec: {
          engine: 'postgres',
          allowedVersions: ['16.6'],
          allowedInstanceClasses: ['db.t3.micro', 'db.t3.small'],
          storageGb: { min: 20, max: 200 },
          deletionPolicy: 'snapshot',
          allowedParameters: ['work_mem', 'log_min_duration_statement'],
          defaults: { version: '16.6', instanceClass: 'db.t3.micro', storageGb: 20 },
        },
      },
      {
        kind: 'WorkloadDefinition',
        metadata: { name: 'api' },
        spec: { container: { image: 'nginxdemos/hello:0.4', ports: [{ name: 'http', port: 80 }], replicas: 1 } },
      },
    ]);
    await waitUntil(async () => statusOf(await stack.admin.get({ kind: 'ClusterInstance', name: 'prod' })).phase === 'Ready', 'ClusterInstance prod Ready', 120_000);
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
  }, 60_000);

  async function objectWhen(kind: string, name: string, what: string, test: (obj: Resource) => boolean, timeoutMs = 60_000, project?: string): Promise<Resource> {
    return waitUntil(
      async () => {
        const obj = await stack.admin.get({ kind, name, ...(project ? { project } : {}) });
        return obj !== undefined && test(obj) ? obj : undefined;
      },
      `${kind} ${name}: ${what}`,
      timeoutMs,
    );
  }

  it('provisions a database, connects an app to it, grows it, rotates its password, and deletes it leaving a final snapshot', async () => {
    const before = await stack.awsCounters();
    // Every watch frame of the database and the app, kept to look for the password in later.
    const frames: string[] = [];
    const stopWatching = new AbortController();
    const watching = (async () => {
      const stream = await stack.admin.watch({ kinds: ['DatabaseInstance', 'WorkloadInstance'], project: 'shop', signal: stopWatching.signal });
      for await (const event of stream) frames.push(JSON.stringify(event));
    })().catch(() => undefined);
    await stack.admin.apply([
      {
        kind: 'DatabaseInstance',
        metadata: { name: 'orders', project: 'shop' },
        spec: { definitionRef: { name: 'postgres-small' }, clusterRef: { name: 'prod' }, databaseName: 'orders', parameters: { work_mem: '8192' } },
      },
      { kind: 'WorkloadInstance', metadata: { name: 'orders-api', project: 'shop' }, spec: { definitionRef: { name: 'api' }, clusterRef: { name: 'prod' }, databases: [{ ref: { name: 'orders' }, envPrefix: 'ORDERS_DB' }] } },
    ]);
    // The app waits for its database, saying so.
    const waiting = await objectWhen('WorkloadInstance', 'orders-api', 'waiting for its database', (obj) => statusOf(obj).conditions?.some((c) => c.type === 'DatabasesReady' && c.status === 'False') === true, 30_000, 'shop');
    expect(statusOf(waiting).phase).toBe('Progressing');

    const db = await objectWhen('DatabaseInstance', 'orders', 'Ready', (obj) => statusOf(obj).phase === 'Ready', 120_000, 'shop');
    const outputs = statusOf(db).outputs!;
    expect(outputs).toMatchObject({ engine: 'postgres', port: 5432, databaseName: 'orders', username: expect.any(String), secretArn: expect.stringMatching(/^arn:aws:secretsmanager:/) });
    const described = ((await stack.aws('rds', 'describe-db-instances', '--db-instance-identifier', String(outputs['instanceIdentifier']))).DBInstances as Array<Record<string, unknown>>)[0]!;
    expect(described).toMatchObject({ DBInstanceStatus: 'available', Engine: 'postgres', StorageEncrypted: true, AllocatedStorage: 20 });
    // The parameters the definition allows, in the instance's own parameter group.
    const group = (described['DBParameterGroups'] as Array<{ DBParameterGroupName: string }>)[0]!.DBParameterGroupName;
    const parameters = (await stack.aws('rds', 'describe-db-parameters', '--db-parameter-group-name', group, '--source', 'user')).Parameters as Array<{ ParameterName: string; ParameterValue: string }>;
    expect(parameters.map((p) => `${p.ParameterName}=${p.ParameterValue}`)).toEqual(['work_mem=8192']);

    await objectWhen('WorkloadInstance', 'orders-api', 'Ready', (obj) => statusOf(obj).phase === 'Ready', 60_000, 'shop');
    const namespace = String(statusOf(await stack.admin.get({ kind: 'WorkloadInstance', name: 'orders-api', project: 'shop' })).outputs?.['namespace']);
    const secretData = async () => {
      const secret = JSON.parse(await stack.kubectl('--context', 'prod-us-east-1', 'get', 'secret', 'tugboat-db-orders', '-n', namespace, '-o', 'json')) as { data: Record<string, string> };
      return Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    };
    const canary = JSON.parse(String((await stack.aws('secretsmanager', 'get-secret-value', '--secret-id', String(outputs['secretArn']))).SecretString)) as { password: string };
    const first = await secretData();
    expect(first).toMatchObject({ HOST: outputs['host'], PORT: '5432', DATABASE: 'orders', PASSWORD: canary.password });
    expect(first['URL']).toContain(`@${String(outputs['host'])}:5432/orders`);
    const template = async () =>
      (JSON.parse(await stack.kubectl('--context', 'prod-us-east-1', 'get', 'deployment', '-n', namespace, '-o', 'json')) as { items: Array<{ spec: { template: { metadata: { annotations?: Record<string, string> }; spec: { containers: Array<{ envFrom?: unknown[] }> } } } }> }).items[0]!.spec.template;
    expect((await template()).spec.containers[0]!.envFrom).toEqual([{ prefix: 'ORDERS_DB_', secretRef: { name: 'tugboat-db-orders' } }]);
    const checksum = (await template()).metadata.annotations?.['tugboat.dev/databases-checksum'];

    // Day two: storage grows (the API refuses a shrink at write time).
    await stack.admin.patch({ kind: 'DatabaseInstance', name: 'orders', project: 'shop' }, { spec: { storageGb: 50 } });
    await objectWhen('DatabaseInstance', 'orders', 'Ready at 50 GB', (obj) => statusOf(obj).phase === 'Ready' && statusOf(obj).observedGeneration === obj.metadata.generation, 60_000, 'shop');
    await waitUntil(
      async () => (((await stack.aws('rds', 'describe-db-instances', '--db-instance-identifier', String(outputs['instanceIdentifier']))).DBInstances as Array<{ AllocatedStorage: number }>)[0]!.AllocatedStorage === 50 ? true : undefined),
      'AllocatedStorage 50',
      60_000,
    );

    // Rotation: a new password in Secrets Manager, the Secret follows, the pods roll.
    await stack.admin.patch({ kind: 'DatabaseInstance', name: 'orders', project: 'shop' }, { spec: { passwordRotation: 'first-rotation' } });
    await waitUntil(async () => ((await secretData())['PASSWORD'] !== canary.password ? true : undefined), 'the Secret holding the new password', 90_000);
    const rotated = JSON.parse(String((await stack.aws('secretsmanager', 'get-secret-value', '--secret-id', String(outputs['secretArn']))).SecretString)) as { password: string };
    expect((await secretData())['PASSWORD']).toBe(rotated.password);
    expect((await template()).metadata.annotations?.['tugboat.dev/databases-checksum']).not.toBe(checksum);

    // Neither password anywhere in what Tugboat says or logs.
    const said = JSON.stringify([
      await stack.admin.get({ kind: 'DatabaseInstance', name: 'orders', project: 'shop' }),
      await stack.admin.get({ kind: 'WorkloadInstance', name: 'orders-api', project: 'shop' }),
      await stack.admin.listEvents({ kind: 'DatabaseInstance', name: 'orders', project: 'shop' }),
      await stack.admin.listEvents({ kind: 'WorkloadInstance', name: 'orders-api', project: 'shop' }),
      await stack.admin.revisions({ kind: 'DatabaseInstance', name: 'orders', project: 'shop' }),
      await stack.admin.list('DatabaseInstance', { project: 'shop' }),
    ]);
    // The API's and every process's output: the sandbox, the infra-, cluster-, workload- and managed-services-controllers.
    const logged = [stack.api.child.output(), stack.logs()].join('\n');
    stopWatching.abort();
    await watching;
    expect(frames.length).toBeGreaterThan(5);
    for (const password of [canary.password, rotated.password]) {
      expect(said).not.toContain(password);
      expect(logged).not.toContain(password);
      expect(frames.join('\n')).not.toContain(password);
    }

    // The database's delete is refused while the app uses it.
    const refused = await stack.admin.delete({ kind: 'DatabaseInstance', name: 'orders', project: 'shop' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isErrorCode(refused, 'Conflict')).toBe(true);
    expect(String((refused as Error).message)).toContain('orders-api');

    await stack.admin.delete({ kind: 'WorkloadInstance', name: 'orders-api', project: 'shop' });
    await waitUntil(async () => (await stack.admin.get({ kind: 'WorkloadInstance', name: 'orders-api', project: 'shop' })) === undefined, 'the app gone', 60_000);
    await stack.admin.delete({ kind: 'DatabaseInstance', name: 'orders', project: 'shop' });
    await waitUntil(async () => (await stack.admin.get({ kind: 'DatabaseInstance', name: 'orders', project: 'shop' })) === undefined, 'the database gone', 120_000);

    const snapshots = (await stack.aws('rds', 'describe-db-snapshots')).DBSnapshots as Array<{ DBSnapshotIdentifier: string; Status: string }>;
    expect(snapshots).toEqual([expect.objectContaining({ DBSnapshotIdentifier: expect.stringContaining('final'), Status: 'available' })]);
    const after = await stack.awsCounters();
    const made = (type: string) => (after.created[type] ?? 0) - (before.created[type] ?? 0);
    const gone = (type: string) => (after.deleted[type] ?? 0) - (before.deleted[type] ?? 0);
    for (const type of ['rds:db-instance', 'rds:db-subnet-group', 'rds:db-parameter-group', 'ec2:security-group']) {
      expect([type, made(type)]).toEqual([type, 1]);
      expect([type, gone(type)]).toEqual([type, 1]);
    }
    expect(made('rds:db-snapshot')).toBe(1);
    expect(gone('rds:db-snapshot')).toBe(0);
    expect(readyOf(db)).toBeDefined();
  }, 480_000);
});
