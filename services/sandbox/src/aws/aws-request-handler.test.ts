import { createAwsOperationRegistry, type AwsOperation } from './aws-operation.js';
import { AwsError } from './aws-error.js';
import { startTestSandbox, type TestSandbox } from '../test-support/start-test-sandbox.js';
import { fromXml } from './protocols/xml.js';

// Operations of services the sandbox does not simulate yet, to show that a later service is a list of handlers.
const distributions = new Map<string, string>();
const laterServices = (): AwsOperation[] => [
  {
    // A REST-XML service the sandbox does not simulate itself (Route 53 is built in now).
    service: 'cloudfront',
    protocol: 'rest-xml',
    operation: 'CreateDistribution',
    http: { method: 'POST', path: '/2020-05-31/distribution', status: 201, headers: { Location: 'location', ETag: 'etag' } },
    xmlNamespace: 'http://cloudfront.amazonaws.com/doc/2020-05-31/',
    handler(ctx) {
      const request = ctx.input.DistributionConfig as { Comment: string };
      distributions.set('E1', request.Comment);
      return { Distribution: { Id: 'E1', Comment: request.Comment }, Location: 'https://cloudfront.amazonaws.com/2020-05-31/distribution/E1', ETag: 'v1' };
    },
  },
  {
    service: 'cloudfront',
    protocol: 'rest-xml',
    operation: 'GetDistribution',
    http: { method: 'GET', path: '/2020-05-31/distribution/{Id}' },
    xmlNamespace: 'http://cloudfront.amazonaws.com/doc/2020-05-31/',
    handler(ctx) {
      const comment = distributions.get(ctx.params.Id ?? '');
      if (comment === undefined) throw new AwsError('NoSuchDistribution', `The specified distribution does not exist: ${ctx.params.Id} <&>`, { status: 404 });
      return { Distribution: { Id: ctx.params.Id, Comment: comment } };
    },
  },
  {
    // A Query service the sandbox does not simulate itself (RDS is built in now).
    service: 'elasticache',
    protocol: 'query',
    operation: 'DescribeCacheClusters',
    xmlNamespace: 'http://elasticache.amazonaws.com/doc/2015-02-02/',
    handler: (ctx) => ({
      CacheClusters: { CacheCluster: [{ CacheClusterId: 'cc-1' }, { CacheClusterId: `cc-${String(ctx.input.CacheClusterId)}` }] },
    }),
  },
];

let t: TestSandbox;
const auth = (service: string) => ({
  authorization: `AWS4-HMAC-SHA256 Credential=AKIAANYKEY0000000001/20261126/us-east-1/${service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'a'.repeat(64)}`,
  'x-amz-date': '20261126T000000Z',
});

beforeAll(async () => {
  t = await startTestSandbox({ awsOperations: laterServices });
});

afterAll(async () => {
  await t.sandbox.close();
});

describe('the AWS protocol layer', () => {
  it('serves a REST-XML service from its operation handlers', async () => {
    const created = await fetch(`${t.url}/2020-05-31/distribution`, {
      method: 'POST',
      headers: { ...auth('cloudfront'), 'content-type': 'application/xml' },
      body: '<DistributionConfig xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Comment>shop</Comment></DistributionConfig>',
    });
    expect(created.status).toBe(201);
    // Members bound to headers go out as headers, not in the body.
    expect(created.headers.get('location')).toBe('https://cloudfront.amazonaws.com/2020-05-31/distribution/E1');
    expect(created.headers.get('etag')).toBe('v1');
    const text = await created.text();
    expect(text).toContain('<CreateDistributionResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">');
    expect(fromXml(text)).toEqual({ '?xml': '', CreateDistributionResponse: { Distribution: { Id: 'E1', Comment: 'shop' } } });

    const missing = await fetch(`${t.url}/2020-05-31/distribution/E9`, { headers: auth('cloudfront') });
    expect(missing.status).toBe(404);
    const error = await missing.text();
    expect(error).toContain('<Code>NoSuchDistribution</Code>');
    expect(error).toContain('E9 &lt;&amp;&gt;');
    expect(error).toContain('<Type>Sender</Type>');
  });

  it('serves another Query service with lists as repeated elements', async () => {
    const answer = await fetch(t.url, {
      method: 'POST',
      headers: { ...auth('elasticache'), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=DescribeCacheClusters&Version=2015-02-02&CacheClusterId=2',
    });
    expect(answer.status).toBe(200);
    const text = await answer.text();
    expect(text).toContain(
      '<DescribeCacheClustersResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/"><DescribeCacheClustersResult><CacheClusters><CacheCluster><CacheClusterId>cc-1</CacheClusterId></CacheCluster><CacheCluster><CacheClusterId>cc-2</CacheClusterId></CacheCluster></CacheClusters>',
    );
    expect(text).toMatch(/<ResponseMetadata><RequestId>[0-9a-f-]{36}<\/RequestId><\/ResponseMetadata><\/DescribeCacheClustersResponse>/);

    const unknown = await fetch(t.url, {
      method: 'POST',
      headers: { ...auth('ec2'), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=RunInstances&Version=2016-11-15',
    });
    expect(unknown.status).toBe(400);
    // EC2's own error shape, not the Query protocol's <ErrorResponse>.
    expect(await unknown.text()).toMatch(/^<\?xml[^>]*>\n<Response><Errors><Error><Code>InvalidAction<\/Code>.*<\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/);
  });

  it('refuses services it does not simulate and malformed bodies', async () => {
    const unknownService = await fetch(`${t.url}/`, { method: 'POST', headers: auth('dynamodb'), body: '{}' });
    expect(unknownService.status).toBe(400);
    expect(unknownService.headers.get('x-amzn-errortype')).toBe('UnknownServiceException');

    const badJson = await fetch(`${t.url}/clusters`, { method: 'POST', headers: { ...auth('eks'), 'content-type': 'application/json' }, body: '{' });
    expect(badJson.status).toBe(400);
    expect(badJson.headers.get('x-amzn-errortype')).toBe('SerializationException');

    const unknownRoute = await fetch(`${t.url}/clusters/a/b/c/d`, { headers: auth('eks') });
    expect(unknownRoute.status).toBe(404);
    expect(unknownRoute.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
  });

  it('speaks AWS JSON 1.1: the operation in X-Amz-Target, errors as {"__type", "message"}', async () => {
    const json = (target: string, body: string) =>
      fetch(`${t.url}/`, { method: 'POST', headers: { ...auth('secretsmanager'), 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target }, body });
    const notFound = await json('secretsmanager.GetSecretValue', '{"SecretId":"nope"}');
    expect(notFound.status).toBe(400);
    expect(notFound.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await notFound.json()).toEqual({ __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });

    const unknown = await json('secretsmanager.RotateSecret', '{}');
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { __type: string }).__type).toBe('UnknownOperationException');
    const otherPrefix = await json('AmazonSSM.GetSecretValue', '{"SecretId":"nope"}');
    expect(((await otherPrefix.json()) as { __type: string }).__type).toBe('UnknownOperationException');

    const badJson = await json('secretsmanager.ListSecrets', '{');
    expect(((await badJson.json()) as { __type: string }).__type).toBe('SerializationException');

    // Unsigned, the X-Amz-Target alone says which protocol answers.
    const unsigned = await fetch(`${t.url}/`, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.ListSecrets' }, body: '{}' });
    expect(await unsigned.json()).toEqual({ __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
  });

  it('keeps one protocol per service and one handler per operation', () => {
    const registry = createAwsOperationRegistry(laterServices());
    expect(() => registry.add({ service: 'elasticache', protocol: 'rest-json', operation: 'X', http: { method: 'GET', path: '/x' }, handler: () => ({}) })).toThrow(
      /elasticache speaks query/,
    );
    expect(() => registry.add({ service: 'elasticache', protocol: 'query', operation: 'DescribeCacheClusters', handler: () => ({}) })).toThrow(/already registered/);
    expect(registry.protocolOf('cloudfront')).toBe('rest-xml');
    // JSON 1.1 routes by X-Amz-Target, so it needs no path.
    registry.add({ service: 'ssm', protocol: 'json', targetPrefix: 'AmazonSSM', operation: 'GetParameter', handler: () => ({}) });
    expect(registry.protocolOf('ssm')).toBe('json');
  });
});
