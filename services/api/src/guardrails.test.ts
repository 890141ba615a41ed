/**
 * Definition guardrails enforced at write time, in-process against real Postgres and NATS: an
 * instance outside its definition is refused (422 naming the field and the rule) on create,
 * replace, patch and apply, for both sources (a container, Kubernetes manifests), and a dry run
 * shows the verdict; a definition change that would put instances outside it is refused (409
 * naming them); a definition's manifests are parsed and checked document by document; a project's
 * default cluster and a derived namespace are written into an instance that names none.
 */
import { startTestApi, type TestApi } from './api-test-harness.js';

const KUBECONFIG = 'apiVersion: v1\nkind: Config\n';
const MERGE_PATCH = { headers: { 'content-type': 'application/merge-patch+json' } };

/** A Deployment and a Service, as a platform team would write them. */
const deployment = (name: string, image: string, replicas = 2) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
        - name: app
          image: ${image}
`;
const service = (name: string) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: {app: ${name}}
  ports: [{port: 80}]
`;

describe('guardrails at write time', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ projects: ['team-a', 'team-b', 'team-m', 'team-z', 'p', 'p-one', 'p-two'] });
    const created = await Promise.all([
      api.call('POST', '/v1/workloaddefinitions', {
        metadata: { name: 'web-service' },
        spec: { container: { image: 'nginx:1.27', ports: [{ port: 80 }] }, overridable: ['image', 'imageTag', 'replicas', 'env'], maxReplicas: 10, allowedImageRegistries: ['docker.io', 'ghcr.io', 'localhost:5000'] },
      }),
      api.call('POST', '/v1/clusterdefinitions', { metadata: { name: 'local' }, spec: { provider: 'kubeconfig' } }),
      api.call('POST', '/v1/clusterdefinitions', {
        metadata: { name: 'eks-small' },
        spec: { provider: 'eks', allowedVersions: ['1.30', '1.31'], allowedRegions: ['eu-west-1'], allowedNodeSizes: ['t3.medium'], maxNodesPerGroup: 5 },
      }),
    ]);
    expect(created.map((c) => c.status)).toEqual([201, 201, 201]);
    expect((await api.call('POST', '/v1/clusterinstances', { metadata: { name: 'dev' }, spec: { definitionRef: { name: 'local' }, kubeconfig: KUBECONFIG } })).status).toBe(201);
  });
  afterAll(async () => {
    await api?.close();
  });

  /** An instance of `web-service` (or of `spec.definitionRef`) with these overrides. */
  const workload = (name: string, overrides: Record<string, unknown>, project = 'team-a', spec: Record<string, unknown> = {}) => ({
    metadata: { name, project },
    spec: { definitionRef: { name: 'web-service' }, clusterRef: { name: 'dev' }, overrides, ...spec },
  });
  const pathsAndRules = (body: { error: { details: Array<{ path: string; rule: string }> } }) => body.error.details.map((d) => `${d.path} ${d.rule}`);

  it('refuses replicas above maxReplicas and images from registries the definition does not allow, naming the override and the rule', async () => {
    const tooMany = await api.call('POST', '/v1/workloadinstances', workload('many', { replicas: 50 }));
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.error.details).toEqual([{ path: 'spec.overrides.replicas', rule: 'maxReplicas', message: expect.stringContaining('50 replicas is more than WorkloadDefinition web-service allows (10)') }]);
    expect(tooMany.body.error.message).toContain('spec.overrides.replicas: ');

    const quay = await api.call('POST', '/v1/workloadinstances', workload('quay', { image: 'quay.io/org/app:1' }));
    expect(quay.status).toBe(422);
    expect(quay.body.error.details).toEqual([{ path: 'spec.overrides.image', rule: 'allowedImageRegistries', message: expect.stringContaining('registry quay.io') }]);

    // Registries resolved as Docker does: no registry part is docker.io, a host with a port is a registry.
    for (const [name, image] of [['plain', 'nginx'], ['hub', 'nginxdemos/hello:0.4'], ['ghcr', 'ghcr.io/x/y:1'], ['local', 'localhost:5000/x']]) {
      expect((await api.call('POST', '/v1/workloadinstances', workload(name!, { image, replicas: 10 }))).status).toBe(201);
    }
    // A name that is not a registry host (no dot, colon or localhost) is a Docker Hub user, not a registry.
    expect((await api.call('POST', '/v1/workloadinstances', workload('hubuser', { image: 'ghcr/app:1' }))).status).toBe(201);
    const bad = await api.call('POST', '/v1/workloadinstances', workload('bad', { image: 'Not An Image' }));
    expect(bad.body.error.details).toEqual([{ path: 'spec.overrides.image', rule: 'image-reference', message: expect.stringContaining('lowercase') }]);
    // The definition's own image is judged too: no override names it, so the path is the definitionRef.
    expect((await api.call('POST', '/v1/workloadinstances', workload('default-image', {}))).status).toBe(201);

    // Replace and merge patch are held to the same rules.
    const replaced = await api.call('PUT', '/v1/workloadinstances/plain?project=team-a', workload('plain', { replicas: 11 }));
    expect(replaced.status).toBe(422);
    expect(replaced.body.error.details[0]).toMatchObject({ path: 'spec.overrides.replicas', rule: 'maxReplicas' });
    const patched = await api.call('PATCH', '/v1/workloadinstances/plain?project=team-a', { spec: { overrides: { image: 'quay.io/x:1' } } }, MERGE_PATCH);
    expect(patched.status).toBe(422);
    expect(patched.body.error.details[0]).toMatchObject({ path: 'spec.overrides.image', rule: 'allowedImageRegistries' });
    const [{ count }] = await api.sql(`select count(*)::int as count from resources where kind = 'WorkloadInstance' and name in ('many', 'quay', 'bad')`);
    expect(count).toBe(0);
  });

  it('refuses an override the definition does not list in overridable, naming spec.overrides.<key>', async () => {
    const command = await api.call('POST', '/v1/workloadinstances', workload('cmd', { command: ['sh'], replicas: 2 }));
    expect(command.status).toBe(422);
    expect(command.body.error.details).toEqual([{ path: 'spec.overrides.command', rule: 'overridable', message: expect.stringContaining('web-service does not let instances override command') }]);
    // A key that is no override at all is the schema's: an unknown field.
    const unknown = await api.call('POST', '/v1/workloadinstances', workload('port', { port: 8080 }));
    expect([unknown.status, pathsAndRules(unknown.body)]).toEqual([422, ['spec.overrides.port additionalProperties']]);
    // The old top-level fields are gone: the instance names them under overrides.
    const old = await api.call('POST', '/v1/workloadinstances', { metadata: { name: 'old', project: 'team-a' }, spec: { definitionRef: { name: 'web-service' }, clusterRef: { name: 'dev' }, image: 'nginx' } });
    expect([old.status, pathsAndRules(old.body)]).toEqual([422, ['spec.image additionalProperties']]);
    // A definition without an image makes every instance bring one, and must let them.
    const imageless = await api.call('POST', '/v1/workloaddefinitions', { metadata: { name: 'imageless' }, spec: { container: {}, overridable: ['replicas'] } });
    expect([imageless.status, pathsAndRules(imageless.body)]).toEqual([422, ['spec.overridable image']]);
    expect((await api.call('POST', '/v1/workloaddefinitions', { metadata: { name: 'imageless' }, spec: { container: {}, overridable: ['image'] } })).status).toBe(201);
    const without = await api.call('POST', '/v1/workloadinstances', workload('no-image', {}, 'team-a', { definitionRef: { name: 'imageless' } }));
    expect([without.status, pathsAndRules(without.body)]).toEqual([422, ['spec.overrides.image required']]);
    expect((await api.call('POST', '/v1/workloadinstances', workload('own-image', { image: 'ghcr.io/a/b:1' }, 'team-a', { definitionRef: { name: 'imageless' } }))).status).toBe(201);
  });

  it('checks a definition: one source, limits on every field, unique ports, its own defaults within its guardrails', async () => {
    const define = (name: string, spec: Record<string, unknown>) => api.call('POST', '/v1/workloaddefinitions', { metadata: { name }, spec });
    const both = await define('both', { container: { image: 'nginx' }, manifests: service('x') });
    expect(both.status).toBe(422);
    expect(both.body.error.details).toEqual([{ path: 'spec.manifests', rule: 'oneOf' }]);
    expect(both.body.error.message).toBe('spec.manifests: set only one of container, manifests, helm: they are alternatives');
    const neither = await define('neither', { maxReplicas: 3 });
    expect(neither.body.error.details).toEqual([{ path: 'spec.container', rule: 'oneOf' }]);
    expect(neither.body.error.message).toBe('spec.container: set one of container, manifests, helm');
    // The probe's own choice is named the same way, inside the container.
    const probe = await define('probe', { container: { image: 'nginx', readinessProbe: { httpGet: { path: '/', port: 80 }, tcpSocket: { port: 80 } } } });
    expect(pathsAndRules(probe.body)).toEqual(['spec.container.readinessProbe.tcpSocket oneOf']);
    const limits = await define('limits', {
      container: {
        image: 'x'.repeat(513),
        command: Array.from({ length: 65 }, () => 'a'),
        ports: [{ port: 0 }, { port: 80, name: 'Not_A_Name' }],
        env: { '1BAD': 'x' },
        resources: { requests: { cpu: 'lots' } },
        replicas: 1001,
      },
      overridable: ['image', 'port'],
    });
    expect(pathsAndRules(limits.body)).toEqual(
      expect.arrayContaining([
        'spec.container.image maxLength',
        'spec.container.command maxItems',
        'spec.container.ports[0].port minimum',
        'spec.container.ports[1].name pattern',
        'spec.container.env propertyNames',
        'spec.container.resources.requests.cpu pattern',
        'spec.container.replicas maximum',
        'spec.overridable[1] enum',
      ]),
    );
    const ports = await define('ports', { container: { image: 'nginx', ports: [{ port: 80, name: 'http' }, { port: 80, name: 'http' }] } });
    expect(pathsAndRules(ports.body)).toEqual(['spec.container.ports[1].port unique', 'spec.container.ports[1].name unique']);
    const portNumbers = await define('ports', { container: { image: 'nginx', ports: [{ port: 80, name: 'http' }, { port: 80, name: 'web' }] } });
    expect(portNumbers.body.error.details).toEqual([{ path: 'spec.container.ports[1].port', rule: 'unique', message: '80 is already ports[0]' }]);
    const selfBroken = await define('self', { container: { image: 'quay.io/x/y:1', replicas: 4 }, maxReplicas: 3, allowedImageRegistries: ['docker.io'] });
    expect(pathsAndRules(selfBroken.body)).toEqual(['spec.container.replicas maxReplicas', 'spec.container.image allowedImageRegistries']);
  });

  it('parses a definition\'s manifests and refuses, naming the document, a namespace, a Namespace, a duplicate and YAML that does not parse', async () => {
    const define = (name: string, manifests: string, spec: Record<string, unknown> = {}) => api.call('POST', '/v1/workloaddefinitions', { metadata: { name }, spec: { manifests, ...spec } });
    const namespaced = await define('m-ns', `${service('web')}---\n${deployment('web', 'nginx').replace('  name: web\n', '  name: web\n  namespace: prod\n')}`);
    expect(namespaced.status).toBe(422);
    expect(namespaced.body.error.details).toEqual([{ path: 'spec.manifests', rule: 'namespace', message: expect.stringMatching(/^document 2: Deployment web: metadata.namespace is set/) }]);
    const namespace = await define('m-nskind', `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: mine\n---\n${service('web')}`);
    expect(namespace.body.error.details).toEqual([{ path: 'spec.manifests', rule: 'namespace', message: expect.stringMatching(/^document 1: Namespace mine/) }]);
    const twice = await define('m-twice', `${service('web')}---\n${service('web')}`);
    expect(twice.body.error.details).toEqual([{ path: 'spec.manifests', rule: 'unique', message: 'document 2: Service web is already document 1' }]);
    const broken = await define('m-yaml', `${service('web')}---\nkind: [unclosed\n`);
    expect(broken.status).toBe(422);
    expect(broken.body.error.details).toEqual([{ path: 'spec.manifests', rule: 'yaml', message: expect.stringMatching(/^YAML document 2 does not parse: /) }]);
    expect(broken.body.error.message).toMatch(/^spec\.manifests: YAML document 2 does not parse/);
    const noKind = await define('m-nokind', 'apiVersion: v1\nmetadata: {name: x}\n');
    expect(noKind.body.error.details).toEqual([{ path: 'spec.manifests', rule: 'kind', message: expect.stringMatching(/^document 1: kind must be/) }]);
    // Hostile YAML meets the request limits, on the field.
    const aliases = await define('m-alias', `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c]\n`);
    expect([aliases.status, pathsAndRules(aliases.body)]).toEqual([422, ['spec.manifests max-aliases']]);
    const deep = await define('m-deep', `${'['.repeat(100)}${']'.repeat(100)}`);
    expect([deep.status, pathsAndRules(deep.body)]).toEqual([422, ['spec.manifests max-depth']]);
    const many = await define('m-many', Array.from({ length: 201 }, (_, i) => service(`s${i}`)).join('---\n'));
    expect([many.status, pathsAndRules(many.body)]).toEqual([422, ['spec.manifests max-documents']]);
    const huge = await define('m-huge', 'x'.repeat(262_145));
    expect([huge.status, pathsAndRules(huge.body)]).toEqual([422, ['spec.manifests maxLength']]);
    // Custom resources are fine; empty documents are skipped, as kubectl does.
    const custom = await define('m-custom', `---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 3}\n---\n${service('web')}---\n`);
    expect(custom.status).toBe(201);
    // The definition's own rendered objects are held to its guardrails, naming the document.
    const overMax = await define('m-over', `${service('web')}---\n${deployment('web', 'nginx', 20)}`, { maxReplicas: 5 });
    expect(overMax.body.error.details).toEqual([{ path: 'spec.manifests', rule: 'maxReplicas', message: expect.stringContaining('Deployment web: 20 replicas is more than this definition allows (5)') }]);
    const registry = await define('m-quay', deployment('web', 'quay.io/x/web:1'), { allowedImageRegistries: ['docker.io'] });
    expect(registry.body.error.details).toEqual([{ path: 'spec.manifests', rule: 'allowedImageRegistries', message: expect.stringContaining('registry quay.io') }]);
  });

  it('holds the instances of a manifests definition to its guardrails through their overrides', async () => {
    const manifests = `${deployment('web', 'nginx:1.27', 2)}---\n${service('web')}`;
    const created = await api.call('POST', '/v1/workloaddefinitions', {
      metadata: { name: 'from-yaml' },
      spec: { manifests, overridable: ['image', 'imageTag', 'replicas'], maxReplicas: 5, allowedImageRegistries: ['docker.io'] },
    });
    expect(created.status).toBe(201);
    const instance = (name: string, overrides: Record<string, unknown>) => workload(name, overrides, 'team-a', { definitionRef: { name: 'from-yaml' } });
    const replicas = await api.call('POST', '/v1/workloadinstances', instance('y-many', { replicas: 9 }));
    expect(replicas.body.error.details).toEqual([{ path: 'spec.overrides.replicas', rule: 'maxReplicas', message: expect.stringContaining('Deployment web: 9 replicas is more than WorkloadDefinition from-yaml allows (5)') }]);
    const image = await api.call('POST', '/v1/workloadinstances', instance('y-quay', { image: 'quay.io/x/web:2' }));
    expect(image.body.error.details).toEqual([{ path: 'spec.overrides.image', rule: 'allowedImageRegistries', message: expect.stringContaining('registry quay.io') }]);
    const env = await api.call('POST', '/v1/workloadinstances', instance('y-env', { env: { A: 'b' } }));
    expect(pathsAndRules(env.body)).toEqual(['spec.overrides.env overridable']);
    const fine = await api.call('POST', '/v1/workloadinstances', instance('y-fine', { replicas: 5, imageTag: '1.28' }));
    expect(fine.status).toBe(201);
  });

  it('derives the namespace of an instance that names none, keeps it on update and refuses to change it', async () => {
    const created = await api.call('POST', '/v1/workloadinstances', workload('ns-web', {}));
    expect(created.status).toBe(201);
    expect(created.body.spec.namespace).toBe('team-a-ns-web');
    // Re-applying the file without a namespace changes nothing; naming the same one neither.
    const reapplied = await api.call('POST', '/v1/apply', { items: [{ kind: 'WorkloadInstance', ...workload('ns-web', { replicas: 2 }) }] });
    expect(reapplied.body.results[0]).toMatchObject({ action: 'updated', diff: [{ path: 'spec.overrides.replicas', op: 'add', to: 2 }] });
    expect((await api.call('PUT', '/v1/workloadinstances/ns-web?project=team-a', workload('ns-web', { replicas: 2 }, 'team-a', { namespace: 'team-a-ns-web' }))).status).toBe(200);
    const moved = await api.call('PUT', '/v1/workloadinstances/ns-web?project=team-a', workload('ns-web', { replicas: 2 }, 'team-a', { namespace: 'elsewhere' }));
    expect(moved.status).toBe(422);
    expect(moved.body.error.details).toEqual([{ path: 'spec.namespace', rule: 'immutable', message: expect.stringContaining('is team-a-ns-web and cannot change') }]);
    const patched = await api.call('PATCH', '/v1/workloadinstances/ns-web?project=team-a', { spec: { namespace: 'elsewhere' } }, MERGE_PATCH);
    expect(pathsAndRules(patched.body)).toEqual(['spec.namespace immutable']);
    // Removing it with a merge patch keeps the stored one.
    const removed = await api.call('PATCH', '/v1/workloadinstances/ns-web?project=team-a', { spec: { namespace: null } }, MERGE_PATCH);
    expect([removed.status, removed.body.spec.namespace]).toEqual([200, 'team-a-ns-web']);
    // A namespace given on create is the instance's; a bad one is the schema's.
    const given = await api.call('POST', '/v1/workloadinstances', workload('ns-own', {}, 'team-a', { namespace: 'shared-web' }));
    expect(given.body.spec.namespace).toBe('shared-web');
    const invalid = await api.call('POST', '/v1/workloadinstances', workload('ns-bad', {}, 'team-a', { namespace: 'Not_A_Label' }));
    expect(pathsAndRules(invalid.body)).toEqual(['spec.namespace pattern']);
    // Past 63 characters the derived name is cut and hashed, still a DNS label.
    const long = 'a'.repeat(60);
    const hashed = await api.call('POST', '/v1/workloadinstances', workload(long, {}));
    expect(hashed.body.spec.namespace).toMatch(/^team-a-a{47}-[0-9a-f]{8}$/);
  });

  it('accepts the shapes migration 0006 writes for old rows', async () => {
    const definition = { container: { replicas: 2, ports: [{ port: 80 }, { port: 8080 }], env: { LOG: 'info' } }, overridable: ['image', 'replicas', 'env', 'command'], maxReplicas: 10, allowedImageRegistries: ['docker.io'] };
    expect((await api.call('POST', '/v1/workloaddefinitions', { metadata: { name: 'migrated' }, spec: definition })).status).toBe(201);
    const overrides = { image: 'nginx:1.27', replicas: 3, env: { MODE: 'shop' }, command: ['nginx', '-g', 'daemon off;'] };
    const instance = await api.call('POST', '/v1/workloadinstances', workload('migrated', overrides, 'team-m', { definitionRef: { name: 'migrated' }, namespace: 'team-m-migrated' }));
    expect(instance.status).toBe(201);
  });

  it('shows the verdicts in a dry-run plan, and a bundle with a refused object writes nothing', async () => {
    const bundle = { items: [workload('planned', { replicas: 50 }), workload('fine', {})].map((o) => ({ kind: 'WorkloadInstance', ...o })) };
    const plan = await api.call('POST', '/v1/apply?dryRun=true', bundle);
    expect(plan.status).toBe(200);
    expect(plan.body.results.map((r: { name: string; action: string }) => `${r.name}:${r.action}`)).toEqual(['planned:blocked', 'fine:created']);
    expect(plan.body.results[0].reasons).toEqual([{ path: 'spec.overrides.replicas', rule: 'maxReplicas', message: expect.stringContaining('50 replicas is more than WorkloadDefinition web-service allows (10)') }]);
    const applied = await api.call('POST', '/v1/apply', bundle);
    expect(applied.status).toBe(422);
    expect(applied.body.error.details).toEqual([{ path: 'WorkloadInstance/team-a/planned: spec.overrides.replicas', rule: 'maxReplicas' }]);
    expect(await api.sql(`select name from resources where kind = 'WorkloadInstance' and name in ('planned', 'fine')`)).toEqual([]);

    // A definition with broken manifests shows its verdict in the plan too, naming the document.
    const yaml = await api.call('POST', '/v1/apply?dryRun=true', { items: [{ kind: 'WorkloadDefinition', metadata: { name: 'planned-yaml' }, spec: { manifests: `${service('a')}---\nkind: [\n` } }] });
    expect(yaml.body.results[0]).toMatchObject({ action: 'blocked', reasons: [{ path: 'spec.manifests', rule: 'yaml', message: expect.stringMatching(/^YAML document 2 does not parse/) }] });
  });

  it('checks a cluster against its provider and the EKS limits of its definition', async () => {
    const cluster = async (name: string, spec: Record<string, unknown>) => api.call('POST', '/v1/clusterinstances', { metadata: { name }, spec });
    const noKubeconfig = await cluster('k1', { definitionRef: { name: 'local' }, region: 'eu-west-1' });
    expect(noKubeconfig.status).toBe(422);
    expect(noKubeconfig.body.error.details.map((d: { path: string; rule: string }) => `${d.path} ${d.rule}`)).toEqual(['spec.kubeconfig provider', 'spec.region provider']);

    const eks = await cluster('e1', { definitionRef: { name: 'eks-small' }, kubeconfig: KUBECONFIG, context: 'x', version: '1.29', region: 'us-east-1', nodeGroups: [{ name: 'a', instanceType: 'm5.large', minSize: 1, maxSize: 6 }] });
    expect(eks.status).toBe(422);
    expect(eks.body.error.details.map((d: { path: string; rule: string }) => `${d.path} ${d.rule}`)).toEqual([
      'spec.kubeconfig provider',
      'spec.context provider',
      'spec.version allowedVersions',
      'spec.region allowedRegions',
      'spec.nodeGroups[0].instanceType allowedNodeSizes',
      'spec.nodeGroups[0].maxSize maxNodesPerGroup',
    ]);
    expect(eks.body.error.details[2].message).toBe('1.29 is not one the definition eks-small allows (1.30, 1.31)');
    expect((await cluster('e2', { definitionRef: { name: 'eks-small' }, version: '1.31', region: 'eu-west-1', nodeGroups: [{ name: 'a', instanceType: 't3.medium', minSize: 1, maxSize: 5 }] })).status).toBe(201);
    // Sizes EKS refuses were found only after the network and the control plane were made.
    const sizes = await cluster('e3', {
      definitionRef: { name: 'eks-small' },
      version: '1.31',
      region: 'eu-west-1',
      nodeGroups: [
        { name: 'a', instanceType: 't3.medium', minSize: 5, maxSize: 2 },
        { name: 'b', instanceType: 't3.medium', minSize: 1, maxSize: 4, desiredSize: 5 },
      ],
    });
    expect(sizes.status).toBe(422);
    expect(sizes.body.error.details).toEqual([
      { path: 'spec.nodeGroups[0].minSize', rule: 'node-group-sizes', message: '5 is more than maxSize (2)' },
      { path: 'spec.nodeGroups[1].desiredSize', rule: 'node-group-sizes', message: '5 is not between minSize (1) and maxSize (4)' },
    ]);

    // A definition's defaults must sit within its own lists.
    const selfBroken = await api.call('POST', '/v1/clusterdefinitions', { metadata: { name: 'odd' }, spec: { provider: 'eks', allowedVersions: ['1.30'], allowedRegions: ['eu-west-1'], allowedNodeSizes: ['t3.medium'], defaults: { version: '1.31' } } });
    expect(selfBroken.status).toBe(422);
    expect(selfBroken.body.error.details).toEqual([{ path: 'spec.defaults.version', rule: 'allowedVersions', message: '1.31 is not one this definition allows (1.30)' }]);
    // The schema's if/then: an eks definition needs its lists, a kubeconfig one does not.
    const missingLists = await api.call('POST', '/v1/clusterdefinitions', { metadata: { name: 'bare' }, spec: { provider: 'eks' } });
    expect(missingLists.status).toBe(422);
    expect(missingLists.body.error.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(['spec.allowedVersions', 'spec.allowedRegions', 'spec.allowedNodeSizes']));
  });

  it('refuses a definition change that would put instances outside it (409 naming them), and lets one through that keeps them within', async () => {
    const tight = (spec: Record<string, unknown>) => ({ metadata: { name: 'tight' }, spec: { container: { image: 'nginx:1.27' }, overridable: ['replicas', 'image'], ...spec } });
    expect((await api.call('POST', '/v1/workloaddefinitions', tight({ maxReplicas: 8 }))).status).toBe(201);
    for (const [name, replicas] of [['t-a', 8], ['t-b', 3], ['t-c', 6]] as const) {
      expect((await api.call('POST', '/v1/workloadinstances', workload(name, { replicas }, 'team-a', { definitionRef: { name: 'tight' } }))).status).toBe(201);
    }
    const lowered = await api.call('PUT', '/v1/workloaddefinitions/tight', tight({ maxReplicas: 5 }));
    expect(lowered.status).toBe(409);
    expect(lowered.body.error.details).toEqual([
      { path: 'WorkloadInstance/team-a/t-a:spec.overrides.replicas', rule: 'maxReplicas', message: expect.stringContaining('8 replicas is more than WorkloadDefinition tight allows (5)') },
      { path: 'WorkloadInstance/team-a/t-c:spec.overrides.replicas', rule: 'maxReplicas', message: expect.stringContaining('6 replicas is more than WorkloadDefinition tight allows (5)') },
    ]);
    expect(lowered.body.error.message).toContain('would put 2 existing WorkloadInstances outside its rules');
    // Allowed registries that leave out an instance's image override.
    expect((await api.call('POST', '/v1/workloadinstances', workload('t-img', { image: 'nginx:1.28' }, 'team-a', { definitionRef: { name: 'tight' } }))).status).toBe(201);
    const registries = await api.call('PATCH', '/v1/workloaddefinitions/tight', { spec: { allowedImageRegistries: ['ghcr.io'], container: { image: 'ghcr.io/a/b:1' } } }, MERGE_PATCH);
    expect(registries.status).toBe(409);
    expect(registries.body.error.details).toEqual([{ path: 'WorkloadInstance/team-a/t-img:spec.overrides.image', rule: 'allowedImageRegistries', message: expect.stringContaining('registry docker.io (of "nginx:1.28")') }]);
    // The definition's own image is its own rule (422), before its instances are looked at.
    const own = await api.call('PATCH', '/v1/workloaddefinitions/tight', { spec: { allowedImageRegistries: ['ghcr.io'] } }, MERGE_PATCH);
    expect([own.status, pathsAndRules(own.body)]).toEqual([422, ['spec.container.image allowedImageRegistries']]);
    // An instance on its way out does not hold its definition back.
    expect((await api.call('DELETE', '/v1/workloadinstances/t-img?project=team-a')).status).toBe(202);
    // Taking an override away from instances that use it is refused the same way.
    const narrowed = await api.call('PATCH', '/v1/workloaddefinitions/tight', { spec: { overridable: ['image'] } }, MERGE_PATCH);
    expect(narrowed.status).toBe(409);
    expect(pathsAndRules(narrowed.body)).toEqual([
      'WorkloadInstance/team-a/t-a:spec.overrides.replicas overridable',
      'WorkloadInstance/team-a/t-b:spec.overrides.replicas overridable',
      'WorkloadInstance/team-a/t-c:spec.overrides.replicas overridable',
    ]);
    expect((await api.call('GET', '/v1/workloaddefinitions/tight')).body.spec).toMatchObject({ maxReplicas: 8, overridable: ['replicas', 'image'] });
    expect((await api.call('PUT', '/v1/workloaddefinitions/tight', tight({ maxReplicas: 9, allowedImageRegistries: ['ghcr.io'], container: { image: 'ghcr.io/a/b:1' } }))).status).toBe(200);

    // One bundle may tighten the definition and bring its instances within it together.
    const together = await api.call('POST', '/v1/apply', {
      items: [
        { kind: 'WorkloadDefinition', ...tight({ maxReplicas: 5, allowedImageRegistries: ['ghcr.io'], container: { image: 'ghcr.io/a/b:1' } }) },
        { kind: 'WorkloadInstance', ...workload('t-a', { replicas: 5 }, 'team-a', { definitionRef: { name: 'tight' } }) },
        { kind: 'WorkloadInstance', ...workload('t-c', { replicas: 2 }, 'team-a', { definitionRef: { name: 'tight' } }) },
      ],
    });
    expect(together.status).toBe(200);

    // A manifests definition is judged on its instances the same way, its documents parsed once for all of them.
    const yaml = (replicas: number, maxReplicas: number) => ({ metadata: { name: 'yaml-tight' }, spec: { manifests: deployment('web', 'nginx', replicas), overridable: ['replicas'], maxReplicas } });
    expect((await api.call('POST', '/v1/workloaddefinitions', yaml(1, 6))).status).toBe(201);
    expect((await api.call('POST', '/v1/workloadinstances', workload('y-six', { replicas: 6 }, 'team-b', { definitionRef: { name: 'yaml-tight' } }))).status).toBe(201);
    expect((await api.call('POST', '/v1/workloadinstances', workload('y-default', {}, 'team-b', { definitionRef: { name: 'yaml-tight' } }))).status).toBe(201);
    const yamlLowered = await api.call('PUT', '/v1/workloaddefinitions/yaml-tight', yaml(1, 4));
    expect(yamlLowered.status).toBe(409);
    expect(yamlLowered.body.error.details).toEqual([{ path: 'WorkloadInstance/team-b/y-six:spec.overrides.replicas', rule: 'maxReplicas', message: expect.stringContaining('Deployment web: 6 replicas') }]);

    // A cluster definition's provider cannot change under its clusters.
    const provider = await api.call('PATCH', '/v1/clusterdefinitions/local', { spec: { provider: 'eks', allowedVersions: ['1.31'], allowedRegions: ['eu-west-1'], allowedNodeSizes: ['t3.medium'] } }, MERGE_PATCH);
    expect(provider.status).toBe(409);
    expect(provider.body.error.details).toEqual([{ path: 'ClusterInstance/_/dev:spec.kubeconfig', rule: 'provider', message: 'is for kubeconfig clusters; the definition local has provider eks' }]);
  });

  it('judges every instance of one apply by the definition as the same apply writes it, the definition read once for all of them', async () => {
    const shared = (maxReplicas: number) => ({ kind: 'WorkloadDefinition', metadata: { name: 'shared' }, spec: { container: { image: 'nginx' }, overridable: ['replicas'], maxReplicas } });
    expect((await api.call('POST', '/v1/apply', { items: [shared(10)] })).status).toBe(200);
    const instance = (name: string, replicas: number) => ({ kind: 'WorkloadInstance', ...workload(name, { replicas }, 'team-m', { definitionRef: { name: 'shared' } }) });
    // Applied definitions first, whatever the order given: each instance is judged by the new rule.
    const bundle = { items: [instance('s-1', 3), instance('s-2', 4), shared(4), instance('s-3', 6), instance('s-4', 4)] };
    const plan = await api.call('POST', '/v1/apply?dryRun=true', bundle);
    expect(plan.status).toBe(200);
    expect(plan.body.results.map((r: { name: string; action: string }) => `${r.name}:${r.action}`)).toEqual(['shared:updated', 's-1:created', 's-2:created', 's-3:blocked', 's-4:created']);
    expect(plan.body.results[3].reasons).toEqual([{ path: 'spec.overrides.replicas', rule: 'maxReplicas', message: expect.stringContaining('6 replicas is more than WorkloadDefinition shared allows (4)') }]);
    const refused = await api.call('POST', '/v1/apply', bundle);
    expect(refused.status).toBe(422);
    expect(refused.body.error.details).toEqual([{ path: 'WorkloadInstance/team-m/s-3: spec.overrides.replicas', rule: 'maxReplicas' }]);
    expect((await api.call('GET', '/v1/workloadinstances/s-1?project=team-m')).status).toBe(404);
    const applied = await api.call('POST', '/v1/apply', { items: [instance('s-1', 3), instance('s-2', 4), shared(4), instance('s-3', 2), instance('s-4', 4)] });
    expect(applied.status).toBe(200);
    expect((await api.call('GET', '/v1/workloaddefinitions/shared')).body.spec.maxReplicas).toBe(4);
  });

  it('names at most 10 instances in a refused definition change', async () => {
    const many = (maxReplicas?: number) => ({ metadata: { name: 'many' }, spec: { container: { image: 'nginx' }, overridable: ['replicas'], ...(maxReplicas ? { maxReplicas } : {}) } });
    await api.call('POST', '/v1/workloaddefinitions', many());
    await api.call('POST', '/v1/apply', {
      items: Array.from({ length: 12 }, (_, i) => ({ kind: 'WorkloadInstance', ...workload(`m-${String(i).padStart(2, '0')}`, { replicas: 4 }, 'team-a', { definitionRef: { name: 'many' } }) })),
    });
    const refused = await api.call('PUT', '/v1/workloaddefinitions/many', many(3));
    expect(refused.status).toBe(409);
    expect(refused.body.error.details).toHaveLength(10);
    expect(refused.body.error.message).toContain('would put 12 existing WorkloadInstances outside its rules (the first 10 named)');
  });

  it('writes the project default cluster into an instance that names none, keeps it on update, and allows one default per project', async () => {
    const noDefault = await api.call('POST', '/v1/workloadinstances', workload('orphan', {}, 'team-z', { clusterRef: undefined }));
    expect(noDefault.status).toBe(422);
    expect(noDefault.body.error.details).toEqual([{ path: 'spec.clusterRef', rule: 'required', message: expect.stringContaining('no ClusterInstance is the default for project team-z') }]);

    const make = (name: string, defaultFor: string[]) =>
      api.call('POST', '/v1/clusterinstances', { metadata: { name }, spec: { definitionRef: { name: 'local' }, kubeconfig: KUBECONFIG, defaultFor } });
    expect((await make('z-one', ['team-z', 'team-y'])).status).toBe(201);
    const clash = await make('z-two', ['team-z']);
    expect(clash.status).toBe(409);
    expect(clash.body.error.details).toEqual([{ path: 'spec.defaultFor', rule: 'one-default', message: 'ClusterInstance/_/z-one is already the default (defaultFor: team-z, team-y)' }]);
    expect(clash.body.error.message).toContain('ClusterInstance "z-one" is already the default cluster for project team-z');
    // "*" counts for every project, both ways.
    expect((await make('z-star', ['*'])).status).toBe(409);
    expect((await make('z-other', ['team-x'])).status).toBe(201);

    const placed = await api.call('POST', '/v1/workloadinstances', workload('placed', {}, 'team-z', { clusterRef: undefined }));
    expect(placed.status).toBe(201);
    expect(placed.body.spec.clusterRef).toEqual({ name: 'z-one' });
    // The reference is explicit: the cluster's delete names the workload.
    const blocked = await api.call('DELETE', '/v1/clusterinstances/z-one');
    expect(blocked.status).toBe(409);
    expect(blocked.body.error.details).toEqual([{ path: 'WorkloadInstance/team-z/placed', rule: 'in-use' }]);

    // Moving the default does not move an instance re-applied without a cluster.
    expect((await api.call('PATCH', '/v1/clusterinstances/z-one', { spec: { defaultFor: ['team-y'] } }, MERGE_PATCH)).status).toBe(200);
    expect((await api.call('PATCH', '/v1/clusterinstances/z-other', { spec: { defaultFor: ['team-x', 'team-z'] } }, MERGE_PATCH)).status).toBe(200);
    const reapplied = await api.call('POST', '/v1/apply', { items: [{ kind: 'WorkloadInstance', ...workload('placed', {}, 'team-z', { clusterRef: undefined }) }] });
    expect(reapplied.body.results[0]).toMatchObject({ action: 'unchanged' });
    expect((await api.call('GET', '/v1/workloadinstances/placed?project=team-z')).body.spec.clusterRef).toEqual({ name: 'z-one' });
    const fresh = await api.call('POST', '/v1/workloadinstances', workload('fresh', {}, 'team-z', { clusterRef: undefined }));
    expect(fresh.body.spec.clusterRef).toEqual({ name: 'z-other' });
  });

  it('lets only one of two concurrent writes make a cluster the default for a project', async () => {
    const results = await Promise.all(
      ['race-a', 'race-b'].map((name) => api.call('POST', '/v1/clusterinstances', { metadata: { name }, spec: { definitionRef: { name: 'local' }, kubeconfig: KUBECONFIG, defaultFor: ['team-race'] } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
  });
  it('holds a Helm-chart instance to the values paths its definition allows, and its own overrides to the guardrails', async () => {
    const chart = await api.call('POST', '/v1/workloaddefinitions', {
      metadata: { name: 'podinfo' },
      spec: {
        helm: { repository: 'https://stefanprodan.github.io/podinfo', chart: 'podinfo', version: '6.8.0', values: { ui: { color: 'blue' } }, overridableValues: ['ui.message', 'image'] },
        overridable: ['replicas'],
        maxReplicas: 4,
      },
    });
    expect(chart.status).toBe(201);
    const instance = (name: string, overrides: Record<string, unknown>) => ({ metadata: { name, project: 'team-a' }, spec: { definitionRef: { name: 'podinfo' }, clusterRef: { name: 'dev' }, overrides } });
    expect((await api.call('POST', '/v1/workloadinstances', instance('chart-ok', { values: { ui: { message: 'hi' }, image: { tag: '6.7.1' } }, replicas: 2 }))).status).toBe(201);
    const outside = await api.call('POST', '/v1/workloadinstances', instance('chart-outside', { values: { ui: { color: 'red' } } }));
    expect(outside.status).toBe(422);
    expect(outside.body.error.details).toEqual([{ path: 'spec.overrides.values.ui.color', rule: 'overridableValues', message: expect.stringContaining('overridableValues: ui.message, image') }]);
    const hostile = await api.call('POST', '/v1/workloadinstances', instance('chart-proto', { values: JSON.parse('{"__proto__": {"x": 1}}') }));
    expect(hostile.status).toBe(422);
    expect(pathsAndRules(hostile.body)).toEqual(['spec.overrides.values.__proto__ key']);
    const many = await api.call('POST', '/v1/workloadinstances', instance('chart-many', { replicas: 9 }));
    expect(many.status).toBe(422);
    expect(pathsAndRules(many.body)).toEqual(['spec.overrides.replicas maxReplicas']);
    const notChart = await api.call('POST', '/v1/workloadinstances', workload('values-on-container', { values: { a: 1 } }));
    expect(notChart.status).toBe(422);
    expect(pathsAndRules(notChart.body)).toEqual(['spec.overrides.values source']);
    const unpinned = await api.call('POST', '/v1/workloaddefinitions', { metadata: { name: 'unpinned' }, spec: { helm: { repository: 'https://charts.example.com', chart: 'x', version: '>=1.0' } } });
    expect(unpinned.status).toBe(422);
    expect(pathsAndRules(unpinned.body)).toEqual(['spec.helm.version pattern']);
  });

  it('gives one hostname under a domain to one exposed instance, and refuses a name too long for DNS', async () => {
    const created = await Promise.all([
      api.call('POST', '/v1/awsaccounts', { metadata: { name: 'dns' }, spec: { accountId: '123456789012', region: 'us-east-1', accessKeyId: 'AKIAEXAMPLEEXAMPLE', secretAccessKey: 'secret' } }),
      api.call('POST', '/v1/gatewaydefinitions', { metadata: { name: 'public' }, spec: {} }),
    ]);
    expect(created.map((c) => c.status)).toEqual([201, 201]);
    expect((await api.call('POST', '/v1/domaindefinitions', { metadata: { name: 'example' }, spec: { domain: 'apps.example.com', accountRef: { name: 'dns' }, acme: { email: 'ops@example.com' } } })).status).toBe(201);
    const expose = (host?: string) => ({ expose: { domainRef: { name: 'example' }, gatewayRef: { name: 'public' }, port: 80, ...(host ? { host } : {}) } });
    expect((await api.call('POST', '/v1/workloadinstances', workload('shop', {}, 'team-a', expose()))).status).toBe(201);
    const taken = await api.call('POST', '/v1/workloadinstances', workload('other', {}, 'team-b', expose('shop')));
    expect(taken.status).toBe(409);
    expect(taken.body.error.message).toBe("spec.expose.host: shop.apps.example.com is already WorkloadInstance team-a/shop's; choose another host");
    // Re-applying the same instance keeps its own host.
    expect((await api.call('PUT', '/v1/workloadinstances/shop?project=team-a', workload('shop', {}, 'team-a', { namespace: 'team-a-shop', ...expose() }))).status).toBe(200);
    // The same whole name under another domain: `shop` under apps.example.com is `shop.apps` under example.com.
    expect((await api.call('POST', '/v1/domaindefinitions', { metadata: { name: 'parent' }, spec: { domain: 'example.com', accountRef: { name: 'dns' }, acme: { email: 'ops@example.com' } } })).status).toBe(201);
    const nested = await api.call('POST', '/v1/workloadinstances', workload('nested', {}, 'team-b', { expose: { ...expose('shop.apps').expose, domainRef: { name: 'parent' } } }));
    expect([nested.status, nested.body.error?.message]).toEqual([409, "spec.expose.host: shop.apps.example.com is already WorkloadInstance team-a/shop's; choose another host"]);
    expect((await api.call('POST', '/v1/workloadinstances', workload('sibling', {}, 'team-b', { expose: { ...expose('shop.web').expose, domainRef: { name: 'parent' } } }))).status).toBe(201);
    const longDomain = `${'x'.repeat(60)}.${'y'.repeat(60)}.example.com`;
    expect((await api.call('POST', '/v1/domaindefinitions', { metadata: { name: 'long' }, spec: { domain: longDomain, accountRef: { name: 'dns' }, acme: { email: 'ops@example.com' } } })).status).toBe(201);
    const longHost = Array.from({ length: 3 }, () => 'a'.repeat(50)).join('.');
    const long = await api.call('POST', '/v1/workloadinstances', workload('long', {}, 'team-a', { expose: { ...expose(longHost).expose, domainRef: { name: 'long' } } }));
    expect(long.status).toBe(422);
    expect(pathsAndRules(long.body)).toEqual(['spec.expose.host maxLength']);
    // The domain and gateway are held while the instance uses them.
    const deleteDomain = await api.call('DELETE', '/v1/domaindefinitions/example');
    expect(deleteDomain.status).toBe(409);
    expect(deleteDomain.body.error.message).toContain('team-a/shop');
    expect((await api.call('DELETE', '/v1/gatewaydefinitions/public')).status).toBe(409);
  });
  it('refuses a secret given twice, a mount path shared by two files, and a mount path on an environment secret', async () => {
    expect((await api.call('POST', '/v1/secretdefinitions', { metadata: { name: 'sealed' }, spec: { backend: 'tugboat' } })).status).toBe(201);
    const aws = await api.call('POST', '/v1/secretdefinitions', { metadata: { name: 'no-account' }, spec: { backend: 'aws-secrets-manager' } });
    expect(aws.status).toBe(422);
    expect(pathsAndRules(aws.body)).toEqual(['spec.accountRef required']);
    for (const name of ['a', 'b']) {
      expect((await api.call('POST', '/v1/secretinstances', { metadata: { name, project: 'team-a' }, spec: { definitionRef: { name: 'sealed' }, key: 'KEY_' + name.toUpperCase(), value: 'v' } })).status).toBe(201);
    }
    const refused = await api.call(
      'POST',
      '/v1/workloadinstances',
      workload('secrets', {}, 'team-a', { secrets: [{ ref: { name: 'a' } }, { ref: { name: 'a' }, as: 'file' }, { ref: { name: 'b' }, as: 'file', mountPath: '/var/run/secrets/tugboat/a' }, { ref: { name: 'b' }, mountPath: '/x' }] }),
    );
    expect(refused.status).toBe(422);
    expect(pathsAndRules(refused.body)).toEqual(['spec.secrets[1].ref unique', 'spec.secrets[2].mountPath unique', 'spec.secrets[3].ref unique', 'spec.secrets[3].mountPath as']);
    expect((await api.call('POST', '/v1/workloadinstances', workload('secrets', {}, 'team-a', { secrets: [{ ref: { name: 'a' } }, { ref: { name: 'b' }, as: 'file' }] }))).status).toBe(201);
    // A secret kept in AWS Secrets Manager is delivered too (through the External Secrets Operator); the other checks still hold.
    await api.call('POST', '/v1/awsaccounts', { metadata: { name: 'secrets' }, spec: { accountId: '123456789012', region: 'us-east-1', accessKeyId: 'AKIAEXAMPLEEXAMPLE', secretAccessKey: 'secret' } });
    expect((await api.call('POST', '/v1/secretdefinitions', { metadata: { name: 'in-aws' }, spec: { backend: 'aws-secrets-manager', accountRef: { name: 'secrets' } } })).status).toBe(201);
    expect((await api.call('POST', '/v1/secretinstances', { metadata: { name: 'remote', project: 'team-a' }, spec: { definitionRef: { name: 'in-aws' }, key: 'REMOTE' } })).status).toBe(201);
    const twice = await api.call('POST', '/v1/workloadinstances', workload('remote-user', {}, 'team-a', { secrets: [{ ref: { name: 'remote' } }, { ref: { name: 'remote' } }] }));
    expect(pathsAndRules(twice.body)).toEqual(['spec.secrets[1].ref unique']);
    expect((await api.call('POST', '/v1/workloadinstances', workload('remote-user', {}, 'team-a', { secrets: [{ ref: { name: 'remote' } }] }))).status).toBe(201);
    // Used: its delete is refused, naming the app. Its value is never read back.
    const held = await api.call('DELETE', '/v1/secretinstances/a?project=team-a');
    expect(held.status).toBe(409);
    expect(held.body.error.message).toContain('team-a/secrets');
    const read = await api.call('GET', '/v1/secretinstances/a?project=team-a');
    expect(read.body.spec.value).toBe('<redacted>');
  });

  it('keeps one observability stack per cluster and one default definition, holds overrides to the definition, and metrics to a declared port', async () => {
    const definition = (name: string, spec: Record<string, unknown>) => api.call('POST', '/v1/observabilitydefinitions', { metadata: { name }, spec });
    expect((await definition('standard', { default: true, overridableValues: ['metrics.grafana.image'] })).status).toBe(201);
    const second = await definition('second', { default: true });
    expect(second.status).toBe(409);
    expect(second.body.error.message).toBe('spec.default: ObservabilityDefinition standard is already the default; unset it there first');
    expect((await definition('second', {})).status).toBe(201);
    const stack = (name: string, overrides?: Record<string, unknown>) =>
      api.call('POST', '/v1/observabilityinstances', { metadata: { name }, spec: { definitionRef: { name: 'standard' }, clusterRef: { name: 'dev' }, ...(overrides ? { overrides } : {}) } });
    const outside = await stack('dev', { values: { metrics: { grafana: { image: { tag: 'x' } }, prometheus: { enabled: false } }, logs: { a: 1 } } });
    expect(outside.status).toBe(422);
    expect(pathsAndRules(outside.body)).toEqual(['spec.overrides.values.metrics.prometheus.enabled overridableValues', 'spec.overrides.values.logs.a overridableValues']);
    expect((await stack('dev', { values: { metrics: { grafana: { image: { tag: 'x' } } } } })).status).toBe(201);
    const twice = await stack('dev-again');
    expect(twice.status).toBe(409);
    expect(twice.body.error.message).toBe('spec.clusterRef: ClusterInstance dev already has ObservabilityInstance dev; a cluster has one metrics and logs stack');
    const badRetention = await definition('bad', { metrics: { retention: 'forever' } });
    expect(badRetention.status).toBe(422);
    expect(pathsAndRules(badRetention.body)).toEqual(['spec.metrics.retention pattern']);
    const metrics = (port: string) => api.call('POST', '/v1/workloaddefinitions', { metadata: { name: `metrics-${port}` }, spec: { container: { image: 'nginx:1.27', ports: [{ port: 80 }, { name: 'metrics', port: 9090 }] }, metrics: { port } } });
    expect((await metrics('metrics')).status).toBe(201);
    expect((await metrics('tcp-80')).status).toBe(201);
    const undeclared = await metrics('prom');
    expect(undeclared.status).toBe(422);
    expect(undeclared.body.error.details).toEqual([{ path: 'spec.metrics.port', rule: 'exists', message: '"prom" is not a port of the container (tcp-80, metrics)' }]);
  });
});
