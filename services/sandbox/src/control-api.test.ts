import { get as httpGet } from 'node:http';
import { CreateClusterCommand, DescribeClusterCommand, EKSClient, ListClustersCommand } from '@aws-sdk/client-eks';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createEksPrerequisites } from './test-support/eks-prerequisites.js';
import { startTestSandbox, TEST_AWS_CREDENTIALS, waitFor, type TestSandbox } from './test-support/start-test-sandbox.js';

let t: TestSandbox;
let eks: EKSClient;
let sts: STSClient;

beforeAll(async () => {
  t = await startTestSandbox();
  eks = new EKSClient({ endpoint: t.url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
  sts = new STSClient({ endpoint: t.url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
});

afterAll(async () => {
  eks.destroy();
  sts.destroy();
  await t.sandbox.close();
});

afterEach(async () => {
  await control('DELETE', '/faults');
});

async function control(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${t.url}/_sandbox${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** fetch cannot set Host; node:http can. */
function getWithHost(url: string, host: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const request = httpGet(url, { headers: { host } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve(JSON.parse(text) as Record<string, unknown>));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

describe('control API', () => {
  it('reports health', async () => {
    expect(await control('GET', '/healthz')).toEqual({ status: 200, body: { ok: true, region: 'us-east-1', accountId: '123456789012', timeScale: 1 } });
  });

  it('tells the helm settings that send the real chart repositories to it, at the address it was reached by', async () => {
    const { status, body } = await control('GET', '/helm-settings');
    expect(status).toBe(200);
    const mirrors = String(body.TUGBOAT_HELM_MIRRORS).split(',');
    expect(mirrors).toContain(`https://charts.jetstack.io=${t.url}/charts/jetstack`);
    expect(mirrors).toContain(`oci://docker.io/envoyproxy=oci://${new URL(t.url).host}/envoyproxy`);
    expect(body.TUGBOAT_HELM_PLAIN_HTTP_HOSTS).toBe(new URL(t.url).host);

    // Another name for the same sandbox (a container's hostname, a forwarded port): the mirrors follow the Host header.
    const other = await getWithHost(`${t.url}/_sandbox/helm-settings`, 'sandbox.internal:4566');
    expect(other.TUGBOAT_HELM_MIRRORS).toContain('https://stefanprodan.github.io/podinfo=http://sandbox.internal:4566/charts/podinfo');
    expect(other.TUGBOAT_HELM_PLAIN_HTTP_HOSTS).toBe('sandbox.internal:4566');
  });

  it('throttles like AWS: ThrottlingException for REST-JSON, Throttling for Query', async () => {
    expect((await control('POST', '/faults', { service: '*', throttle: true, errorRate: 1 })).status).toBe(201);
    expect(await errorOf(eks.send(new ListClustersCommand({})))).toEqual({ name: 'ThrottlingException', status: 400 });
    expect(await errorOf(sts.send(new GetCallerIdentityCommand({})))).toEqual({ name: 'Throttling', status: 400 });
    await control('DELETE', '/faults');
    expect((await eks.send(new ListClustersCommand({}))).clusters).toEqual([]);
  });

  it('fails exactly the next N calls of one operation, with the error asked for', async () => {
    await control('POST', '/faults', {
      service: 'eks',
      operation: 'DescribeCluster',
      failNext: 2,
      error: { code: 'ServerException', status: 500, message: 'boom' },
    });
    expect((await eks.send(new ListClustersCommand({}))).clusters).toEqual([]);
    for (let i = 0; i < 2; i += 1) {
      expect(await errorOf(eks.send(new DescribeClusterCommand({ name: 'x' })))).toEqual({ name: 'ServerException', status: 500 });
    }
    expect(await errorOf(eks.send(new DescribeClusterCommand({ name: 'x' })))).toEqual({ name: 'ResourceNotFoundException', status: 404 });
    expect((await control('GET', '/faults')).body).toEqual({ items: [] });
  });

  it('adds latency', async () => {
    await control('POST', '/faults', { service: 'sts', latencyMs: 300 });
    const started = Date.now();
    await sts.send(new GetCallerIdentityCommand({}));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('rejects bad fault rules and time scales naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ service: 'eks', errorRate: 2 }, 'errorRate'],
      [{ service: 'eks', failNext: 0 }, 'failNext'],
      [{ service: 'eks', failNext: 1, colour: 'red' }, 'colour'],
      [{ errorRate: 1 }, 'service'],
      [{ service: 'eks', failNext: 1, error: { code: 'X', status: 200 } }, 'error.status'],
      [{ service: 'eks' }, 'errorRate'],
    ];
    for (const [rule, field] of cases) {
      const answer = await control('POST', '/faults', rule);
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ error: { code: 'InvalidInput', details: [expect.objectContaining({ path: field })] } });
    }
    expect((await control('POST', '/time', { scale: -1 })).body).toMatchObject({ error: { details: [{ path: 'scale' }] } });
    const malformed = await fetch(`${t.url}/_sandbox/time`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(malformed.status).toBe(400);
  });

  it('scales time, counts what exists, and resets', async () => {
    const net = await createEksPrerequisites(t.url, TEST_AWS_CREDENTIALS);
    await eks.send(new CreateClusterCommand({ name: 'timed', roleArn: net.roleArn, resourcesVpcConfig: { subnetIds: net.subnetIds } }));
    // At scale 1 it would take ten real minutes; scaling now applies to the cluster already CREATING.
    expect((await control('POST', '/time', { scale: 12_000 })).body).toEqual({ scale: 12_000 });
    await waitFor(async () => ((await eks.send(new DescribeClusterCommand({ name: 'timed' }))).cluster?.status === 'ACTIVE' ? true : undefined));

    const counters = (await control('GET', '/counters')).body;
    expect(counters).toMatchObject({
      created: { 'eks:cluster': 1, 'iam:role': 2, 'ec2:vpc': 1, 'ec2:subnet': 2 },
      current: {
        clusters: [{ region: 'us-east-1', name: 'timed', status: 'ACTIVE', kubeCluster: 'timed-us-east-1' }],
        nodegroups: [],
        kubeClusters: expect.arrayContaining([expect.objectContaining({ name: 'local' }), expect.objectContaining({ name: 'timed-us-east-1' })]),
      },
    });

    expect((await control('POST', '/reset')).body).toEqual({ reset: true });
    expect((await eks.send(new ListClustersCommand({}))).clusters).toEqual([]);
    expect((await control('GET', '/counters')).body).toMatchObject({ created: {}, deleted: {}, current: { clusters: [], kubeClusters: [{ name: 'local' }] } });
    expect((await control('GET', '/time')).body).toEqual({ scale: 1 });
  });

  it('restricts and unrestricts credentials at run time', async () => {
    const answer = await control('PUT', '/credentials', { credentials: [{ accessKeyId: 'AKIAOTHERKEY00000001', secretAccessKey: 's' }] });
    expect(answer.body).toMatchObject({ restricted: true, accessKeyIds: ['AKIAOTHERKEY00000001'] });
    expect(await errorOf(sts.send(new GetCallerIdentityCommand({})))).toEqual({ name: 'InvalidClientTokenId', status: 403 });
    expect((await control('PUT', '/credentials', { credentials: [{ accessKeyId: 'short', secretAccessKey: 's' }] })).body).toMatchObject({
      error: { details: [{ path: 'accessKeyId' }] },
    });
    await control('PUT', '/credentials', { credentials: null });
    expect((await sts.send(new GetCallerIdentityCommand({}))).Account).toBe('123456789012');
  });

  it('answers unknown control routes with 400 naming the route', async () => {
    const answer = await control('GET', '/nope');
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: 'InvalidInput', details: [{ path: 'url', rule: 'route' }] } });
  });
});
