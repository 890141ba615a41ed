import { derivedNamespace, renderWorkload, type RenderInput } from './index.js';

const base = { project: 'team-a', name: 'web', uid: '11111111-2222-3333-4444-555555555555' };
const spec = { definitionRef: { name: 'web-service' }, clusterRef: { name: 'local' } };

describe('derivedNamespace', () => {
  it('is <project>-<name> when that fits a DNS label', () => {
    expect(derivedNamespace('team-a', 'web')).toBe('team-a-web');
  });

  it('cuts long names to 63 characters with a hash that keeps them apart', () => {
    const long = 'a'.repeat(40);
    const one = derivedNamespace(long, `${'b'.repeat(39)}1`);
    const two = derivedNamespace(long, `${'b'.repeat(39)}2`);
    expect(one).toHaveLength(63);
    expect(one).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(one).not.toBe(two);
  });
});

describe('renderWorkload: container source', () => {
  const definition = {
    container: {
      image: 'nginxdemos/hello:0.4',
      ports: [{ port: 80 }],
      env: { MODE: 'demo', A: '1' },
      replicas: 2,
      readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 5 },
    },
    overridable: ['imageTag', 'replicas', 'env'] as RenderInput['definition']['overridable'],
  };

  it('renders a ServiceAccount, a Deployment and a Service, all labelled for the instance, none namespaced', () => {
    const objects = renderWorkload({ ...base, spec, definition });
    expect(objects.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.name}`)).toEqual(['v1 ServiceAccount web', 'apps/v1 Deployment web', 'v1 Service web']);
    for (const object of objects) {
      expect(object.metadata.namespace).toBeUndefined();
      expect(object.metadata.labels).toEqual({
        'app.kubernetes.io/managed-by': 'tugboat',
        'tugboat.dev/instance-uid': base.uid,
        'tugboat.dev/instance': 'web',
        'tugboat.dev/project': 'team-a',
      });
    }
    const deployment = objects[1] as unknown as { spec: { replicas: number; selector: unknown; template: { spec: { serviceAccountName: string; containers: Array<Record<string, unknown>> } } } };
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.selector).toEqual({ matchLabels: { 'tugboat.dev/instance-uid': base.uid } });
    expect(deployment.spec.template.spec.serviceAccountName).toBe('web');
    expect(deployment.spec.template.spec.containers[0]).toEqual({
      name: 'app',
      image: 'nginxdemos/hello:0.4',
      ports: [{ containerPort: 80, protocol: 'TCP' }],
      env: [
        { name: 'A', value: '1' },
        { name: 'MODE', value: 'demo' },
      ],
      readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 5 },
    });
    expect((objects[2] as unknown as { spec: unknown }).spec).toEqual({
      type: 'ClusterIP',
      selector: { 'tugboat.dev/instance-uid': base.uid },
      ports: [{ name: 'tcp-80', port: 80, targetPort: 80, protocol: 'TCP' }],
    });
  });

  it('applies overrides: tag replaced, replicas set, env merged key by key', () => {
    const objects = renderWorkload({ ...base, spec: { ...spec, overrides: { imageTag: '0.5', replicas: 3, env: { MODE: 'prod' } } }, definition });
    const deployment = objects[1] as unknown as { spec: { replicas: number; template: { spec: { containers: Array<{ image: string; env: unknown }> } } } };
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.template.spec.containers[0]!.image).toBe('nginxdemos/hello:0.5');
    expect(deployment.spec.template.spec.containers[0]!.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'MODE', value: 'prod' },
    ]);
  });

  it('renders no Service without ports, and the instance image when the definition has none', () => {
    const objects = renderWorkload({ ...base, spec: { ...spec, overrides: { image: 'ghcr.io/acme/worker:1' } }, definition: { container: {}, overridable: ['image'] } });
    expect(objects.map((o) => o.kind)).toEqual(['ServiceAccount', 'Deployment']);
    expect(JSON.stringify(objects[1])).toContain('"image":"ghcr.io/acme/worker:1"');
  });
});

describe('renderWorkload: manifests source', () => {
  const documents = [
    null,
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'cache', labels: { tier: 'cache' } },
      spec: {
        replicas: 1,
        template: {
          spec: {
            containers: [
              { name: 'redis', image: 'redis:7.2', env: [{ name: 'KEEP', value: 'x' }, { name: 'LEVEL', value: 'low' }] },
              { name: 'exporter', image: 'oliver006/redis_exporter:v1' },
            ],
          },
        },
      },
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cache-config' }, data: { a: 'b' } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'cache-reader' }, rules: [] },
  ];

  it('keeps every object (skipping empty documents), labels them, and leaves the source untouched', () => {
    const before = JSON.stringify(documents);
    const objects = renderWorkload({ ...base, spec, definition: { manifests: '…' }, documents });
    expect(objects.map((o) => `${o.kind} ${o.metadata.name}`)).toEqual(['Deployment cache', 'ConfigMap cache-config', 'ClusterRole cache-reader']);
    expect(objects[0]!.metadata.labels).toMatchObject({ tier: 'cache', 'tugboat.dev/instance-uid': base.uid });
    expect(JSON.stringify(documents)).toBe(before);
  });

  it('applies overrides kustomize-like: image and tag to the first container, env to all, replicas to the Deployment', () => {
    const objects = renderWorkload({
      ...base,
      spec: { ...spec, overrides: { imageTag: '7.4', replicas: 3, env: { LEVEL: 'high' } } },
      definition: { manifests: '…', overridable: ['imageTag', 'replicas', 'env'] },
      documents,
    });
    const deployment = objects[0] as unknown as { spec: { replicas: number; template: { spec: { containers: Array<{ image: string; env: unknown }> } } } };
    expect(deployment.spec.replicas).toBe(3);
    const [redis, exporter] = deployment.spec.template.spec.containers;
    expect(redis!.image).toBe('redis:7.4');
    expect(exporter!.image).toBe('oliver006/redis_exporter:v1');
    expect(redis!.env).toEqual([
      { name: 'KEEP', value: 'x' },
      { name: 'LEVEL', value: 'high' },
    ]);
    expect(exporter!.env).toEqual([{ name: 'LEVEL', value: 'high' }]);
  });
});
