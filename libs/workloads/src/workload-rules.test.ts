import { definitionViolations, instanceViolations, manifestViolations, withTag, type WorkloadDefinitionSpec } from './index.js';

const instance = { definitionRef: { name: 'web-service' }, clusterRef: { name: 'local' } };
const rules = (violations: Array<{ path: string; rule: string }>) => violations.map((v) => `${v.path} ${v.rule}`);

describe('withTag', () => {
  it.each([
    ['nginx', 'nginx:1.27'],
    ['nginx:1.25', 'nginx:1.27'],
    ['localhost:5000/team/app', 'localhost:5000/team/app:1.27'],
    ['localhost:5000/team/app:old', 'localhost:5000/team/app:1.27'],
    [`ghcr.io/acme/app@sha256:${'a'.repeat(64)}`, 'ghcr.io/acme/app:1.27'],
  ])('%s → %s', (image, expected) => {
    expect(withTag(image, '1.27')).toBe(expected);
  });
});

describe('manifestViolations', () => {
  const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } };

  it('accepts objects of any kind, custom resources included, and skips empty documents', () => {
    expect(manifestViolations([null, deployment, { apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name: 'w' } }])).toEqual([]);
  });

  it.each([
    [[['a list']], 'object', 'document 1: is not a Kubernetes object'],
    [[{ kind: 'Deployment', metadata: { name: 'x' } }], 'apiVersion', 'document 1: apiVersion'],
    [[{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }], 'name', 'document 1: ConfigMap: metadata.name is required'],
    [[deployment, { ...deployment, metadata: { name: 'db', namespace: 'prod' } }], 'namespace', 'document 2: Deployment db: metadata.namespace is set'],
    [[{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mine' } }], 'namespace', 'document 1: Namespace mine'],
    [[deployment, deployment], 'unique', 'document 2: Deployment web is already document 1'],
    [[null], 'required', 'holds no Kubernetes object'],
  ])('refuses %j (%s)', (documents, rule, message) => {
    const [violation] = manifestViolations(documents as unknown[]);
    expect(violation).toMatchObject({ path: 'spec.manifests', rule });
    expect(violation!.message).toContain(message);
  });
});

describe('definitionViolations', () => {
  it('needs exactly one source', () => {
    expect(rules(definitionViolations({}))).toEqual(['spec source']);
    expect(rules(definitionViolations({ container: { image: 'nginx' }, manifests: 'x' }, []))).toEqual(['spec source']);
  });

  it('needs an image, or lets instances bring one', () => {
    expect(rules(definitionViolations({ container: {} }))).toEqual(['spec.overridable image']);
    expect(definitionViolations({ container: {}, overridable: ['image'], allowedImageRegistries: ['ghcr.io'] })).toEqual([]);
  });

  it('keeps its own defaults within its guardrails, for both sources', () => {
    const container: WorkloadDefinitionSpec = { container: { image: 'docker.io/nginx', replicas: 20 }, maxReplicas: 10, allowedImageRegistries: ['ghcr.io'] };
    expect(rules(definitionViolations(container))).toEqual(['spec.container.replicas maxReplicas', 'spec.container.image allowedImageRegistries']);
    const documents = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' }, spec: { replicas: 12, template: { spec: { containers: [{ name: 'db', image: 'postgres:16' }] } } } }];
    const violations = definitionViolations({ manifests: '…', maxReplicas: 3, allowedImageRegistries: ['ghcr.io'] }, documents);
    expect(rules(violations)).toEqual(['spec.manifests maxReplicas', 'spec.manifests allowedImageRegistries']);
    expect(violations[0]!.message).toBe('StatefulSet db: 12 replicas is more than this definition allows (3)');
  });
});

describe('instanceViolations', () => {
  const definition: WorkloadDefinitionSpec = {
    container: { image: 'ghcr.io/acme/web:1', replicas: 2 },
    overridable: ['imageTag', 'replicas', 'image'],
    maxReplicas: 10,
    allowedImageRegistries: ['ghcr.io'],
  };

  it('passes an instance within the rules', () => {
    expect(instanceViolations({ ...instance, overrides: { imageTag: '2', replicas: 10 } }, definition, 'web-service')).toEqual([]);
  });

  it('refuses an override the definition does not allow, naming the field and what is allowed', () => {
    expect(instanceViolations({ ...instance, overrides: { env: { A: 'b' } } }, definition, 'web-service')).toEqual([
      { path: 'spec.overrides.env', rule: 'overridable', message: 'WorkloadDefinition web-service does not let instances override env (overridable: imageTag, replicas, image)' },
    ]);
  });

  it('reports a guardrail on the override that broke it', () => {
    expect(rules(instanceViolations({ ...instance, overrides: { replicas: 50 } }, definition, 'web-service'))).toEqual(['spec.overrides.replicas maxReplicas']);
    const image = instanceViolations({ ...instance, overrides: { image: 'docker.io/library/nginx:1' } }, definition, 'web-service', undefined, 'shop');
    expect(image).toEqual([
      {
        path: 'spec.overrides.image',
        rule: 'allowedImageRegistries',
        message: 'Deployment shop: registry docker.io (of "docker.io/library/nginx:1") is not one WorkloadDefinition web-service allows (ghcr.io)',
      },
    ]);
  });

  it('reports on spec.definitionRef what the definition itself now breaks', () => {
    expect(rules(instanceViolations(instance, { ...definition, maxReplicas: 1 }, 'web-service'))).toEqual(['spec.definitionRef maxReplicas']);
  });

  it('needs an image when the definition has none', () => {
    expect(rules(instanceViolations(instance, { container: {}, overridable: ['image'] }, 'worker'))).toEqual(['spec.overrides.image required']);
  });

  it('judges manifests the same way: an overridden replica count over the limit', () => {
    const documents = [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api' }, spec: { template: { spec: { containers: [{ name: 'api', image: 'ghcr.io/acme/api:1' }] } } } }];
    const manifests: WorkloadDefinitionSpec = { manifests: '…', overridable: ['replicas'], maxReplicas: 4 };
    expect(rules(instanceViolations({ ...instance, overrides: { replicas: 5 } }, manifests, 'api', documents))).toEqual(['spec.overrides.replicas maxReplicas']);
  });
});
