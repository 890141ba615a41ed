/**
 * Built-in kinds are checked against their real schemas as kube-apiserver checks them: unknown and
 * duplicate fields under `fieldValidation` Strict / Warn / Ignore, wrong types always, and the
 * schemas served under `/openapi/v3` answer `kubectl explain`. Driven through
 * `@kubernetes/client-node`, `kubectl` and raw HTTP (for exact bodies and duplicate keys).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApiException, AppsV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { startKubeTestServer, type KubeTestServer } from './kube-test-server.js';

const run = promisify(execFile);
const KUBECTL = process.env.KUBECTL ?? 'kubectl';

let server: KubeTestServer;
let kubeconfig: string;
let apps: AppsV1Api;
let objects: KubernetesObjectApi;

beforeAll(async () => {
  server = await startKubeTestServer({ scale: 50 });
  server.simulator.addCluster('local');
  kubeconfig = server.writeKubeconfig();
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  apps = kc.makeApiClient(AppsV1Api);
  objects = KubernetesObjectApi.makeApiClient(kc);
});

afterAll(async () => {
  await server.close();
});

async function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(server.dir, 'cache'), ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Raw HTTP: the body is sent as given (duplicate keys included); returns the Status and the Warning headers. */
async function raw(method: string, path: string, body: string, contentType = 'application/json') {
  const response = await fetch(`${server.baseUrl}/k8s/local${path}`, { method, headers: { 'content-type': contentType, accept: 'application/json' }, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, warning: response.headers.get('warning') };
}

async function apiError(promise: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiException);
    const failed = error as ApiException<unknown>;
    return { code: failed.code, body: (typeof failed.body === 'string' ? JSON.parse(failed.body) : failed.body) as Record<string, unknown> };
  }
  throw new Error('expected the request to fail');
}

const deployment = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default' },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
    ...spec,
  },
});

const manifest = (file: string, text: string) => {
  const path = join(server.dir, file);
  writeFileSync(path, text);
  return path;
};

describe('built-in kinds against their schemas', () => {
  it('client-node: Strict refuses an unknown field, Warn stores without it and says so in a Warning header', async () => {
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('patched') });
    const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

    const strict = await apiError(apps.patchNamespacedDeployment({ name: 'patched', namespace: 'default', body: { spec: { replicass: 3 } }, fieldValidation: 'Strict' }, mergePatch));
    expect(strict.code).toBe(400);
    expect(strict.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400, message: 'strict decoding error: unknown field "spec.replicass"' });

    // No fieldValidation: the server's default, Warn.
    const warned = await apps.patchNamespacedDeploymentWithHttpInfo({ name: 'patched', namespace: 'default', body: { spec: { replicass: 3, replicas: 2 } } }, mergePatch);
    expect(warned.httpStatusCode).toBe(200);
    expect(warned.headers.warning).toBe('299 - "unknown field \\"spec.replicass\\""');
    const live = await apps.readNamespacedDeployment({ name: 'patched', namespace: 'default' });
    expect(live.spec?.replicas).toBe(2);
    expect(live.spec).not.toHaveProperty('replicass');

    // Server-side apply converts the configuration to a typed object: an undeclared field fails it
    // whatever fieldValidation says. (client-node's typed serializer drops fields its models lack,
    // so the configuration goes raw here.)
    const applied = { ...deployment('patched'), spec: { ...deployment('patched').spec, replicass: 3 } };
    const apply = await raw('PATCH', '/apis/apps/v1/namespaces/default/deployments/patched?fieldManager=tugboat-test&fieldValidation=Ignore', JSON.stringify(applied), 'application/apply-patch+yaml');
    expect(apply.status).toBe(400);
    expect(apply.body.message).toBe('failed to create typed patch object (default/patched; apps/v1, Kind=Deployment): .spec.replicass: field not declared in schema');
    // A valid configuration through client-node's own server-side apply goes through.
    const valid = await objects.patch(deployment('patched') as KubernetesObject, undefined, undefined, 'tugboat-test', true, PatchStrategy.ServerSideApply);
    expect(valid.metadata?.name).toBe('patched');
  });

  it('refuses a value of the wrong type whatever fieldValidation says, worded as the decoder words it', async () => {
    for (const directive of ['Strict', 'Warn', 'Ignore']) {
      const wrong = await raw('POST', `/apis/apps/v1/namespaces/default/deployments?fieldValidation=${directive}`, JSON.stringify(deployment('typed', { replicas: '2' })));
      expect(wrong.status).toBe(400);
      expect(wrong.body).toMatchObject({
        reason: 'BadRequest',
        message: 'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
      });
    }
    const port = await raw(
      'POST',
      '/apis/apps/v1/namespaces/default/deployments',
      JSON.stringify(deployment('typed', { template: { metadata: { labels: { app: 'typed' } }, spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: '80' }] }] } } })),
    );
    expect(port.body.message).toBe('Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32');
    const fraction = await raw('POST', '/apis/apps/v1/namespaces/default/deployments', JSON.stringify(deployment('typed', { replicas: 1.5 })));
    expect(fraction.body.message).toBe('Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32');
    const secret = await raw('POST', '/api/v1/namespaces/default/secrets', JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'plain' }, data: { password: 'not base64!' } }));
    expect(secret.body.message).toBe('Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 3');
  });

  it('names duplicate fields from the raw body (Strict refuses, Warn warns) and Ignore drops unknown fields silently', async () => {
    const body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"twice","namespace":"default"},"data":{"a":"1","a":"2"},"extra":true}';
    const strict = await raw('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', body);
    expect(strict.status).toBe(400);
    expect(strict.body.message).toBe('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "extra", duplicate field "data.a"');
    const warned = await raw('POST', '/api/v1/namespaces/default/configmaps', body);
    expect(warned.status).toBe(201);
    expect(warned.warning).toBe('299 - "unknown field \\"extra\\"", 299 - "duplicate field \\"data.a\\""');
    expect(warned.body.data).toEqual({ a: '2' });
    expect(warned.body).not.toHaveProperty('extra');
    const ignored = await raw('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Ignore', body.replace('"twice"', '"ignored"'));
    expect(ignored.status).toBe(201);
    expect(ignored.warning).toBeNull();
    expect(ignored.body).not.toHaveProperty('extra');
    const yaml = await raw('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: yaml-twice}\ndata:\n  a: "1"\n  a: "2"\n', 'application/yaml');
    expect(yaml.body.message).toBe('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: duplicate field "data.a"');
    const unsupported = await raw('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Loose', body);
    expect(unsupported.body).toMatchObject({ code: 400, message: 'fieldValidation: Unsupported value: "Loose": supported values: "Ignore", "Strict", "Warn"' });
  });

  it('accepts what the schemas allow: int-or-string, quantities as numbers or strings, free-form and embedded objects', async () => {
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'both', namespace: 'default', labels: { app: 'both' }, annotations: { note: 'x' } },
      spec: { selector: { app: 'both' }, ports: [{ name: 'a', port: 80, targetPort: 8080 }, { name: 'b', port: 81, targetPort: 'http' }] },
    };
    expect((await raw('POST', '/api/v1/namespaces/default/services?fieldValidation=Strict', JSON.stringify(service))).status).toBe(201);
    const resources = deployment('sized', {
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'sized' } },
        spec: { containers: [{ name: 'web', image: 'nginx', resources: { limits: { cpu: 1, memory: '128Mi' } }, readinessProbe: { httpGet: { path: '/', port: 'http' } } }] },
      },
    });
    expect((await raw('POST', '/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict', JSON.stringify(resources))).status).toBe(201);
    const revision = { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: 'rev' }, revision: 1, data: { anything: { goes: [1, 'two'] } } };
    expect((await raw('POST', '/apis/apps/v1/namespaces/default/controllerrevisions?fieldValidation=Strict', JSON.stringify(revision))).status).toBe(201);
  });

  it('kubectl: explain prints the real description; apply is refused under its default Strict, warns under --validate=warn', async () => {
    const explained = await kubectl('explain', 'deployment.spec.replicas');
    expect(explained.code).toBe(0);
    expect(explained.stdout).toContain('FIELD: replicas <integer>');
    expect(explained.stdout.replace(/\s+/g, ' ')).toContain('DESCRIPTION: Number of desired pods. This is a pointer to distinguish between explicit zero and not specified. Defaults to 1.');
    const surge = await kubectl('explain', 'deployment.spec.strategy.rollingUpdate.maxSurge');
    expect(surge.stdout).toContain('FIELD: maxSurge <IntOrString>');

    const wrong = manifest(
      'wrong.yaml',
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: cli, namespace: default}
spec:
  replicass: 2
  selector: {matchLabels: {app: cli}}
  template:
    metadata: {labels: {app: cli}}
    spec:
      containers: [{name: web, image: nginx, imagee: typo}]
`,
    );
    const refused = await kubectl('apply', '-f', wrong);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'Error from server (BadRequest): error when creating "' + wrong + '": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replicass", unknown field "spec.template.spec.containers[0].imagee"',
    );
    const serverSide = await kubectl('apply', '--server-side', '-f', wrong);
    expect(serverSide.stderr).toContain(
      'Error from server (BadRequest): failed to create typed patch object (default/cli; apps/v1, Kind=Deployment): errors:\n  .spec.replicass: field not declared in schema\n  .spec.template.spec.containers[name="web"].imagee: field not declared in schema',
    );

    const warned = await kubectl('apply', '--validate=warn', '-f', wrong);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain('Warning: unknown field "spec.replicass"');
    expect(warned.stderr).toContain('Warning: unknown field "spec.template.spec.containers[0].imagee"');
    expect(warned.stdout).toContain('deployment.apps/cli created');

    const typed = await kubectl('create', '-f', manifest('typed.yaml', `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typed, namespace: default}\ndata: {count: 3}\n`));
    expect(typed.stderr).toContain('cannot unmarshal number into Go struct field ConfigMap.data of type string');
  });

  it('custom resources: Warn reports the fields their schema prunes, metadata is an ObjectMeta, embedded resources keep their envelope', async () => {
    const boatSpec = {
      type: 'object',
      properties: {
        size: { type: 'integer' },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        template: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: { spec: { type: 'object', properties: { replicas: { type: 'integer' } } } } },
      },
    };
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'boats.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'boats', singular: 'boat', kind: 'Boat' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: boatSpec } } } }],
      },
    };
    expect((await raw('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions?fieldValidation=Strict', JSON.stringify(crd))).status).toBe(201);
    const template = { apiVersion: 'v1', kind: 'Thing', metadata: { name: 'inner' }, spec: { replicas: 1 } };
    const boat = await raw(
      'POST',
      '/apis/example.com/v1/namespaces/default/boats',
      JSON.stringify({ apiVersion: 'example.com/v1', kind: 'Boat', metadata: { name: 'b', labelz: { a: 'b' } }, spec: { size: 2, colour: 'red', free: { any: 1 }, template } }),
    );
    expect(boat.status).toBe(201);
    expect(boat.warning).toBe('299 - "unknown field \\"spec.colour\\"", 299 - "unknown field \\"metadata.labelz\\""');
    expect(boat.body.spec).toEqual({ size: 2, free: { any: 1 }, template });
    expect(boat.body.metadata).not.toHaveProperty('labelz');
  });
});
