/**
 * The OpenAPI document of the real API process: valid OpenAPI 3.1 by a well-kept validator
 * (@readme/openapi-parser), generated from the kinds (a kind registered at run time appears with its
 * spec schema), rendered at /docs from locally served assets, and every documented operation is a
 * route the server serves (probed over HTTP: none answers "no route"). The other direction — every
 * route the express app serves is documented — is checked on the app's route table in
 * services/api/src/openapi-document.test.ts.
 */
import { validate } from '@readme/openapi-parser';
import { createApiClient } from '@tugboat/api-client';
import { startApiProcess, type ApiProcess } from './harness/cli-processes.js';

interface Document {
  openapi: string;
  paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string; required?: boolean }> }>>;
  components: { schemas: Record<string, Record<string, unknown>> };
}

describe('OpenAPI document (real API process)', () => {
  let api: ApiProcess;

  beforeAll(async () => {
    api = await startApiProcess();
    await createApiClient({ baseUrl: api.url, token: api.adminToken }).registerKind({
      kind: 'Queue',
      plural: 'queues',
      singular: 'queue',
      shortNames: ['q'],
      scope: 'Project',
      controller: 'queue-controller',
      schema: { type: 'object', additionalProperties: false, required: ['depth'], properties: { depth: { type: 'integer', minimum: 1, maximum: 10000 } } },
      references: [],
      secretFields: [],
    });
  }, 60_000);

  afterAll(async () => {
    await api?.close();
  }, 30_000);

  async function fetchDocument(): Promise<Document> {
    const response = await fetch(`${api.url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    return (await response.json()) as Document;
  }

  it('is valid OpenAPI 3.1 and carries every kind, the registered one included, with its spec schema', async () => {
    const document = await fetchDocument();
    expect(document.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(document) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(document.components.schemas['QueueSpec']).toMatchObject({ required: ['depth'], properties: { depth: { type: 'integer', maximum: 10000 } } });
    for (const plural of ['awsaccounts', 'clusterdefinitions', 'clusterinstances', 'workloaddefinitions', 'workloadinstances', 'queues']) {
      expect(Object.keys(document.paths)).toEqual(expect.arrayContaining([`/v1/${plural}`, `/v1/${plural}/{name}`, `/v1/${plural}/{name}/revisions/diff`, `/v1/${plural}/{name}/reconcile`]));
    }
  });

  it('serves every documented operation (probed over HTTP: none is "no route")', async () => {
    const document = await fetchDocument();
    const probed: string[] = [];
    const unrouted: string[] = [];
    for (const [template, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const path = template.replace(/\{(\w+)\}/g, (_, name: string) => (name === 'revision' ? '1' : 'nope'));
        const query = new URLSearchParams();
        for (const parameter of operation.parameters ?? []) if (parameter.in === 'query' && parameter.required) query.set(parameter.name, parameter.name === 'from' ? '1' : 'p');
        // A watch that is accepted would stay open: ask for an unknown kind, which is refused before streaming.
        if (template === '/v1/watch') query.set('kinds', 'NoSuchKind');
        const url = `${api.url}${path}${query.size > 0 ? `?${query}` : ''}`;
        const withBody = ['post', 'put', 'patch'].includes(method);
        const response = await fetch(url, {
          method: method.toUpperCase(),
          headers: { authorization: `Bearer ${api.adminToken}`, ...(withBody ? { 'content-type': 'application/json' } : {}) },
          ...(withBody ? { body: '{}' } : {}),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await response.text();
        probed.push(`${method.toUpperCase()} ${template} ${response.status}`);
        if (response.status === 404 && text.includes('"rule":"route"')) unrouted.push(`${method.toUpperCase()} ${template}`);
      }
    }
    expect(unrouted).toEqual([]);
    expect(probed.length).toBeGreaterThan(6 * 18);
    // The probe does tell "no route" apart: an undocumented path is one.
    const undocumented = await fetch(`${api.url}/v1/queues/nope/nothing?project=p`, { headers: { authorization: `Bearer ${api.adminToken}` } });
    expect(undocumented.status).toBe(404);
    expect(await undocumented.text()).toContain('"rule":"route"');
  });

  it('renders the document at /docs from assets the API serves itself (no CDN)', async () => {
    const page = await fetch(`${api.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain("url: 'openapi.json'");
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    expect(assets.every((asset) => !/^(https?:)?\/\//.test(asset))).toBe(true);
    for (const asset of assets) {
      const response = await fetch(new URL(asset, `${api.url}/docs`));
      expect({ asset, status: response.status }).toEqual({ asset, status: 200 });
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    const bundle = await fetch(`${api.url}/docs/assets/swagger-ui-bundle.js`);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect(await bundle.text()).toContain('SwaggerUIBundle');
  });
});
