/**
 * The generated OpenAPI document: valid OpenAPI 3.1 (a well-kept validator), and the same set of
 * routes as the express app serves, compared both ways. Per-kind routes (`/v1/:plural/...`) must
 * appear for every kind, with the kind's spec schema.
 */
import { validate } from '@readme/openapi-parser';
import { BUILTIN_KINDS, type KindDefinition } from '@tugboat/resource-model';
import type { Kysely } from 'kysely';
import { pino } from 'pino';
import { createAuditTrail } from './audit-trail.js';
import { createApp } from './app.js';
import type { Database } from './database-schema.js';
import type { IdentityStore } from './identity.js';
import { createKindRegistry } from './kind-registry.js';
import { buildOpenApiDocument } from './openapi-document.js';
import type { ResourceStore } from './resource-store.js';
import type { RevisionHistory } from './revision-history.js';
import type { WatchHub } from './watch-hub.js';

const GADGET: KindDefinition = {
  kind: 'Gadget',
  plural: 'gadgets',
  singular: 'gadget',
  shortNames: [],
  scope: 'Project',
  controller: 'gadget-controller',
  schema: { type: 'object', additionalProperties: false, required: ['size'], properties: { size: { type: 'integer', minimum: 1 }, token: { type: 'string' } } },
  references: [],
  secretFields: ['token'],
};

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: unknown;
}

/** Every (method, path) the app routes, sub-routers included, as `GET /v1/:plural/:name`. */
function servedRoutes(app: unknown): Set<string> {
  const routes = new Set<string>();
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) if (method !== '_all') routes.add(`${method.toUpperCase()} ${prefix}${layer.route.path}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, prefix + (typeof layer.rawPath === 'string' ? layer.rawPath : ''));
      }
    }
  };
  walk((app as { router: { stack: Layer[] } }).router.stack, '');
  return routes;
}

/** Document paths as express patterns: a kind's plural becomes `:plural`, `{x}` becomes `:x`. */
function documentedRoutes(paths: Record<string, Record<string, unknown>>, kinds: KindDefinition[]): Set<string> {
  const routes = new Set<string>();
  const plurals = new Set(kinds.map((k) => k.plural));
  for (const [path, item] of Object.entries(paths)) {
    const segments = path.split('/');
    if (segments[1] === 'v1' && plurals.has(segments[2]!)) segments[2] = ':plural';
    const pattern = segments.map((s) => s.replace(/^\{(.+)\}$/, ':$1')).join('/');
    for (const method of Object.keys(item)) routes.add(`${method.toUpperCase()} ${pattern}`);
  }
  return routes;
}

describe('OpenAPI document', () => {
  const kinds = [...BUILTIN_KINDS, GADGET];
  const document = buildOpenApiDocument(kinds);

  it('is valid OpenAPI 3.1', async () => {
    const result = await validate(structuredClone(document) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.specification).toBe('OpenAPI');
    expect(document.openapi).toBe('3.1.0');
  });

  it('lists exactly the routes the app serves, both ways, and every route for every kind', () => {
    const app = createApp({
      store: {} as ResourceStore,
      history: {} as RevisionHistory,
      kinds: createKindRegistry({ db: {} as Kysely<Database> }),
      identities: {} as IdentityStore,
      logger: pino({ level: 'silent' }),
      isReady: () => true,
      watch: {} as WatchHub,
      secretKeys: { status: async () => ({ current: 'k1', keys: [], unknown: [] }) },
      audit: { trail: createAuditTrail(), log: { list: async () => ({ items: [] }) } },
    });
    const served = servedRoutes(app);
    const documented = documentedRoutes(document.paths as Record<string, Record<string, unknown>>, kinds);
    expect(served.size).toBeGreaterThan(20);
    expect([...served].filter((r) => !documented.has(r)).sort()).toEqual([]);
    expect([...documented].filter((r) => !served.has(r)).sort()).toEqual([]);
    // Each generic route is spelled out for each kind.
    const perKind = [...served].filter((r) => r.includes('/:plural'));
    for (const kind of kinds) {
      for (const route of perKind) {
        const [method, pattern] = route.split(' ') as [string, string];
        const path = pattern.replace(':plural', kind.plural).replace(/:(\w+)/g, '{$1}');
        expect({ route: `${method} ${path}`, documented: Boolean((document.paths[path] as Record<string, unknown> | undefined)?.[method.toLowerCase()]) }).toEqual({
          route: `${method} ${path}`,
          documented: true,
        });
      }
    }
  });

  it("carries each kind's spec schema and asks for ?project= only where the kind needs it", () => {
    expect(document.components.schemas['GadgetSpec']).toMatchObject({ required: ['size'], properties: { size: { type: 'integer', minimum: 1 } } });
    expect(document.components.schemas['GadgetSpec']!['description']).toContain('token');
    expect(document.components.schemas['WorkloadInstanceSpec']).toMatchObject({ required: ['definitionRef'] });
    const params = (path: string) => ((document.paths[path]?.get as { parameters: Array<{ name: string; required: boolean }> }).parameters ?? []).map((p) => `${p.name}${p.required ? '!' : ''}`);
    expect(params('/v1/gadgets/{name}')).toEqual(['name!', 'project!']);
    expect(params('/v1/clusterinstances/{name}')).toEqual(['name!']);
    const ids = Object.values(document.paths).flatMap((item) => Object.values(item).map((op) => (op as { operationId: string }).operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });
});
