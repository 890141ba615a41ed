import { InputError } from '@tugboat/resource-model';
import type { ApplicationSpec, ClusterCandidate } from './application-types.js';
import { expandApplication, selectTargets } from './expand-application.js';

const clusters: ClusterCandidate[] = [
  { name: 'prod-eu', labels: { 'tugboat.dev/tier': 'prod' } },
  { name: 'dev', labels: { 'tugboat.dev/tier': 'dev' } },
  { name: 'prod-us', labels: { 'tugboat.dev/tier': 'prod' } },
  { name: 'lab', labels: {} },
  { name: 'old', labels: { 'tugboat.dev/tier': 'prod' }, deleting: true },
];

const shop: ApplicationSpec = {
  parameters: [
    { name: 'replicas', type: 'integer', default: 1 },
    { name: 'size', type: 'string', default: 'db.t3.micro' },
  ],
  targets: [{ tier: 'dev' }, { tier: 'prod', parameters: { replicas: 3, size: 'db.t3.small' } }],
  secrets: [{ name: 'api-key', definitionRef: { name: 'vault' }, key: 'API_KEY' }],
  databases: [{ name: 'db', definitionRef: { name: 'pg' }, databaseName: 'shop', instanceClass: '${size}' }],
  workloads: [
    {
      name: 'web',
      definitionRef: { name: 'hello' },
      databases: [{ component: 'db', envPrefix: 'DB' }],
      secrets: [{ component: 'api-key' }],
      expose: { domainRef: { name: 'example' }, gatewayRef: { name: 'public' }, port: 8080 },
      overrides: { replicas: '${replicas}', env: { TIER: '${tier}', WHERE: 'shop on ${cluster}', LITERAL: '$${cluster}' } },
    },
  ],
};

const expand = (spec: ApplicationSpec, candidates = clusters) => expandApplication({ name: 'shop', project: 'team-a', spec }, candidates);

function refusal(run: () => unknown): { path: string; rule: string } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    const detail = (error as InputError).details[0]!;
    expect((error as InputError).status).toBe(422);
    return { path: detail.path, rule: detail.rule };
  }
  throw new Error('expected a refusal');
}

describe('selectTargets', () => {
  it('takes a tier’s clusters (sorted, none being deleted) and explicit clusters, each cluster once, the first target winning', () => {
    const spec: ApplicationSpec = { targets: [{ tier: 'prod' }, { clusters: [{ name: 'lab' }, { name: 'prod-us' }] }] };
    expect(selectTargets(spec, clusters)).toEqual([
      { cluster: 'prod-eu', target: 0, tier: 'prod' },
      { cluster: 'prod-us', target: 0, tier: 'prod' },
      { cluster: 'lab', target: 1 },
    ]);
  });
});

describe('expandApplication', () => {
  it('gives every target cluster its own copy of each component, used objects first, owned names derived', () => {
    const { children, targets } = expand(shop);
    expect(targets.map((t) => `${t.cluster}:${t.tier}`)).toEqual(['dev:dev', 'prod-eu:prod', 'prod-us:prod']);
    expect(children.map((c) => `${c.kind}/${c.name}`)).toEqual([
      'SecretInstance/shop-api-key-dev',
      'DatabaseInstance/shop-db-dev',
      'WorkloadInstance/shop-web-dev',
      'SecretInstance/shop-api-key-prod-eu',
      'DatabaseInstance/shop-db-prod-eu',
      'WorkloadInstance/shop-web-prod-eu',
      'SecretInstance/shop-api-key-prod-us',
      'DatabaseInstance/shop-db-prod-us',
      'WorkloadInstance/shop-web-prod-us',
    ]);
    const web = children.find((c) => c.name === 'shop-web-prod-us')!;
    expect(web.labels).toEqual({ 'tugboat.dev/application': 'shop', 'tugboat.dev/component': 'web', 'tugboat.dev/cluster': 'prod-us', 'tugboat.dev/tier': 'prod' });
    expect(web.path).toBe('spec.workloads[0]');
    expect(web.spec).toEqual({
      definitionRef: { name: 'hello' },
      clusterRef: { name: 'prod-us' },
      databases: [{ ref: { name: 'shop-db-prod-us' }, envPrefix: 'DB' }],
      secrets: [{ ref: { name: 'shop-api-key-prod-us' } }],
      expose: { domainRef: { name: 'example' }, gatewayRef: { name: 'public' }, port: 8080, host: 'web-shop-prod-us' },
      overrides: { replicas: 3, env: { TIER: 'prod', WHERE: 'shop on prod-us', LITERAL: '${cluster}' } },
    });
    expect(children.find((c) => c.name === 'shop-db-dev')!.spec).toEqual({ definitionRef: { name: 'pg' }, databaseName: 'shop', instanceClass: 'db.t3.micro', clusterRef: { name: 'dev' } });
    expect(children.find((c) => c.name === 'shop-web-dev')!.spec['overrides']).toMatchObject({ replicas: 1 });
    expect(children.find((c) => c.name === 'shop-api-key-dev')!.spec).toEqual({ definitionRef: { name: 'vault' }, key: 'API_KEY' });
  });

  it('is deterministic: the same input gives the same output whatever the order clusters are listed in', () => {
    expect(expand(shop, [...clusters].reverse())).toEqual(expand(shop));
  });

  it('expands to nothing when no cluster carries the tier', () => {
    expect(expand({ ...shop, targets: [{ tier: 'staging' }] })).toEqual({ targets: [], children: [] });
  });

  it('keeps a database in the network its component names, instead of its cluster’s', () => {
    const network = { accountRef: { name: 'main' }, region: 'us-east-1', subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'] };
    const { children } = expand({ ...shop, databases: [{ ...shop.databases![0]!, network }] });
    expect(children.find((c) => c.name === 'shop-db-dev')!.spec).toEqual({ definitionRef: { name: 'pg' }, databaseName: 'shop', instanceClass: 'db.t3.micro', network });
  });

  it('refuses what it cannot expand, naming the field and the rule', () => {
    expect(refusal(() => expand({ ...shop, targets: [{ tier: 'dev', parameters: { replicas: 'two' } }] }))).toEqual({ path: 'spec.targets[0].parameters.replicas', rule: 'type' });
    expect(refusal(() => expand({ ...shop, targets: [{ tier: 'dev', parameters: { color: 'red' } }] }))).toEqual({ path: 'spec.targets[0].parameters.color', rule: 'undeclared' });
    expect(refusal(() => expand({ ...shop, parameters: [{ name: 'replicas', type: 'integer' }, { name: 'size', type: 'string', default: 'x' }] }))).toEqual({ path: 'spec.targets[0].parameters.replicas', rule: 'required' });
    expect(refusal(() => expand({ ...shop, parameters: [{ name: 'cluster', type: 'string', default: 'x' }] }))).toEqual({ path: 'spec.parameters[0].name', rule: 'reserved' });
    const unknown = { ...shop, workloads: [{ ...shop.workloads![0]!, overrides: { env: { A: '${nope}' } } }] };
    expect(refusal(() => expand(unknown))).toEqual({ path: 'spec.workloads[0].overrides.env.A', rule: 'parameter' });
    const expression = { ...shop, workloads: [{ ...shop.workloads![0]!, overrides: { env: { A: '${replicas + 1}' } } }] };
    expect(refusal(() => expand(expression))).toEqual({ path: 'spec.workloads[0].overrides.env.A', rule: 'parameter' });
    const missing = { ...shop, workloads: [{ ...shop.workloads![0]!, databases: [{ component: 'cache', envPrefix: 'C' }] }] };
    expect(refusal(() => expand(missing))).toEqual({ path: 'spec.workloads[0].databases[0].component', rule: 'component' });
    expect(refusal(() => expand({ ...shop, secrets: [{ name: 'db', definitionRef: { name: 'vault' }, key: 'K' }] }))).toEqual({ path: 'spec.secrets[0].name', rule: 'unique' });
    expect(refusal(() => expandApplication({ name: 'a'.repeat(55), project: 'p', spec: shop }, clusters))).toEqual({ path: 'spec.secrets[0].name', rule: 'maxLength' });
    expect(refusal(() => expand({ targets: [{ tier: 'dev' }] }))).toEqual({ path: 'spec', rule: 'required' });
  });

  it('refuses one host for several clusters, and takes a host made per target from parameters', () => {
    const fixed = { ...shop, workloads: [{ ...shop.workloads![0]!, expose: { ...shop.workloads![0]!.expose!, host: 'shop' } }] };
    expect(refusal(() => expand(fixed))).toEqual({ path: 'spec.workloads[0].expose.host', rule: 'unique' });
    const perCluster = { ...shop, workloads: [{ ...shop.workloads![0]!, expose: { ...shop.workloads![0]!.expose!, host: 'shop.${cluster}' } }] };
    expect(expand(perCluster).children.filter((c) => c.kind === 'WorkloadInstance').map((c) => (c.spec['expose'] as { host: string }).host)).toEqual(['shop.dev', 'shop.prod-eu', 'shop.prod-us']);
  });

  it('never substitutes a reference: it is recorded as written', () => {
    const templated = { ...shop, workloads: [{ ...shop.workloads![0]!, definitionRef: { name: '${tier}' } }] };
    expect(expand(templated).children.find((c) => c.name === 'shop-web-dev')!.spec['definitionRef']).toEqual({ name: '${tier}' });
  });

  it('bounds what a substitution may produce', () => {
    const long = { ...shop, parameters: [...shop.parameters!, { name: 'big', type: 'string' as const, default: 'x'.repeat(1000) }] };
    const spread = { ...long, workloads: [{ ...shop.workloads![0]!, overrides: { env: { A: '${big}${big}${big}${big}${big}' } } }] };
    expect(refusal(() => expand(spread))).toEqual({ path: 'spec.workloads[0].overrides.env.A', rule: 'maxLength' });
  });
});
