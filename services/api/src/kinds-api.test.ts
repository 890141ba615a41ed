/**
 * Kind registration that cannot be abused, and kinds that can be changed and removed, through the
 * HTTP API on real Postgres and NATS.
 */
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { parse } from 'yaml';
import { startTestApi, uniqueName, type TestApi } from './api-test-harness.js';
import { createKindObjects } from './kind-objects.js';
import { createKindRegistry, type KindChange } from './kind-registry.js';
import { createSecretBox } from './secret-box.js';

let api: TestApi;
let userToken: string;

beforeAll(async () => {
  api = await startTestApi({ kindsReloadIntervalMs: 0, projects: ['team-a', 'p-a', 'p-b', 'p-c'] });
  userToken = (await api.call('POST', '/v1/tokens', { name: 'dev', type: 'user' })).body.token;
});
afterAll(async () => {
  await api?.close();
});

/** A kind name no other test in this file uses. */
function kindName(what: string): { kind: string; plural: string } {
  const suffix = uniqueName('').replace(/[^a-z0-9]/gi, '').slice(-8).toLowerCase();
  return { kind: `${what}${suffix}`, plural: `${what.toLowerCase()}${suffix}s` };
}

function gadgetKind(names: { kind: string; plural: string }, properties: Record<string, unknown> = { size: { type: 'integer', maximum: 10 } }, more: Record<string, unknown> = {}) {
  return { ...names, scope: 'Project', controller: 'gadget-controller', schema: { type: 'object', properties }, ...more };
}

async function storedKinds(kind: string): Promise<number> {
  return (await api.sql('select count(*)::int as n from kinds where kind = $1', [kind]))[0].n;
}

describe('registration refuses what cannot be enforced', () => {
  it.each([
    ['$async at the root', { $async: true, properties: { x: { type: 'string' } } }, 'schema.$async', 'async'],
    ['$async below', { properties: { x: { $async: true, type: 'string' } } }, 'schema.properties.x.$async', 'async'],
    ['a remote $ref', { properties: { x: { $ref: 'https://example.com/x.json' } } }, 'schema.properties.x.$ref', 'remote-ref'],
    ['a $id', { $id: 'https://example.com/gadget', properties: {} }, 'schema.$id', 'id'],
    ['an unknown keyword', { properties: { x: { type: 'string', maxLenght: 3 } } }, 'schema', 'schema'],
    ['an unknown format', { properties: { x: { type: 'string', format: 'colour' } } }, 'schema', 'schema'],
    ['a lookahead pattern', { properties: { x: { type: 'string', pattern: '^(?=a)a+$' } } }, 'schema.properties.x.pattern', 'pattern'],
    ['a backreference in patternProperties', { patternProperties: { '^(a)\\1$': { type: 'string' } } }, 'schema.patternProperties.^(a)\\1$', 'pattern'],
    ['a schema nested too deep', { properties: { x: JSON.parse(`${'{"not":'.repeat(55)}{}${'}'.repeat(55)}`) } }, 'schema', 'max-depth'],
  ])('%s: 422 naming the keyword, nothing stored', async (_what, schema, path, rule) => {
    const names = kindName('Refused');
    const answer = await api.call('POST', '/v1/kinds', { ...names, scope: 'Project', controller: 'c', schema: { type: 'object', ...schema } });
    expect(answer.status).toBe(422);
    expect(answer.body.error.details).toContainEqual({ path, rule });
    expect(answer.body.error.message).toContain(path);
    expect(await storedKinds(names.kind)).toBe(0);
    // The same through PUT.
    expect((await api.call('PUT', `/v1/kinds/${names.kind}`, { ...names, scope: 'Project', controller: 'c', schema: { type: 'object', ...schema } })).status).toBe(422);
    expect(await storedKinds(names.kind)).toBe(0);
  });

  it('says which pattern the linear-time engine refuses, and why', async () => {
    const answer = await api.call('POST', '/v1/kinds', gadgetKind(kindName('Look'), { x: { type: 'string', pattern: '(?!x)y' } }));
    expect(answer.status).toBe(422);
    expect(answer.body.error.message).toMatch(/pattern "\(\?!x\)y" is not supported by the linear-time engine/);
  });

  it.each([
    ['__proto__.toString', 'forbidden-segment'],
    ['constructor', 'forbidden-segment'],
    ['a.prototype', 'forbidden-segment'],
    ['missing', 'declared'],
    ['size', 'string'],
    ['a-b', 'pattern'],
  ])('refuses secretFields [%p] (%s), and Object.prototype stays whole', async (path, rule) => {
    const names = kindName('Secret');
    const answer = await api.call('POST', '/v1/kinds', gadgetKind(names, { size: { type: 'integer' }, password: { type: 'string' } }, { secretFields: [path] }));
    expect(answer.status).toBe(422);
    expect(answer.body.error.details).toContainEqual({ path: 'secretFields[0]', rule });
    expect(await storedKinds(names.kind)).toBe(0);
    expect(typeof Object.prototype.toString).toBe('function');
    expect((await api.call('GET', '/v1/kinds')).status).toBe(200);
  });

  it('refuses a reference path the schema does not declare as { name }', async () => {
    const names = kindName('Refer');
    const answer = await api.call('POST', '/v1/kinds', gadgetKind(names, { target: { type: 'string' } }, { references: [{ path: 'target', kind: 'ClusterInstance' }] }));
    expect(answer.status).toBe(422);
    expect(answer.body.error.details).toContainEqual({ path: 'references[0].path', rule: 'declared' });
  });

  // Every name of a kind addresses it in a URL: a short name `apply` made `GET /v1/apply` list the kind.
  it('refuses a reserved route name as the kind, its singular or a short name', async () => {
    const names = kindName('Named');
    const reserved = await api.call('POST', '/v1/kinds', { ...gadgetKind(names, {}), singular: 'whoami', shortNames: ['ok', 'apply'] });
    expect(reserved.status).toBe(422);
    expect(reserved.body.error.details).toEqual(expect.arrayContaining([{ path: 'singular', rule: 'reserved' }, { path: 'shortNames[1]', rule: 'reserved' }]));
    const kind = await api.call('POST', '/v1/kinds', { ...gadgetKind(kindName('Other'), {}), kind: 'Watch' });
    expect(kind.body.error.details).toContainEqual({ path: 'kind', rule: 'reserved' });
    expect((await api.call('GET', '/v1/kinds')).body.items.map((k: { kind: string }) => k.kind)).not.toContain(names.kind);
  });

  it('runs a catastrophic pattern in linear time: ^(a+)+$ against a crafted 30-character value', async () => {
    const names = kindName('Redos');
    expect((await api.call('POST', '/v1/kinds', gadgetKind(names, { word: { type: 'string', pattern: '^(a+)+$' } }))).status).toBe(201);
    const started = performance.now();
    const answer = await api.call('POST', `/v1/${names.plural}`, { metadata: { name: 'g1', project: 'team-a' }, spec: { word: `${'a'.repeat(29)}!` } });
    const ms = performance.now() - started;
    expect(answer.status).toBe(422);
    expect(answer.body.error.details).toEqual([{ path: 'spec.word', rule: 'pattern' }]);
    // A backtracking engine needs tens of seconds for this value; RE2 needs microseconds.
    expect(ms).toBeLessThan(2000);
    expect((await api.call('POST', `/v1/${names.plural}`, { metadata: { name: 'g2', project: 'team-a' }, spec: { word: 'aaaa' } })).status).toBe(201);
  });
});

describe('docs/kinds.md', () => {
  it("registers its full example as written, and accepts the example object's spec", async () => {
    const text = await readFile(new URL('../../../docs/kinds.md', import.meta.url), 'utf8');
    const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]!) as Record<string, unknown>);
    const [definition, object] = blocks as [Record<string, unknown>, { spec: unknown }];
    expect((await api.call('PUT', `/v1/kinds/${String(definition['kind'])}`, definition)).status).toBe(201);
    const registered = await createKindRegistry({ db: api.server.database.db }).getOrThrow('mq');
    expect(registered.validateSpec(object.spec)).toEqual([]);
    expect(registered.validateSpec({ ...(object.spec as object), replicas: 9 })).toEqual([expect.objectContaining({ path: 'spec.replicas', rule: 'maximum' })]);
  });
});

describe('a registry that starts over a table holding registered kinds (an API restart)', () => {
  it('answers its first list with them even while a lookup is reading the table (no list of built-ins only)', async () => {
    const names = kindName('Restarted');
    expect((await api.call('PUT', `/v1/kinds/${names.kind}`, gadgetKind(names))).status).toBe(201);
    const short: string[] = [];
    for (let round = 0; round < 20; round++) {
      const restarted = createKindRegistry({ db: api.server.database.db, logger: pino({ level: 'silent' }) });
      // What the first requests after a restart do: a lookup by plural, and, while it reads the
      // table, more requests each asking for the list the access rules are built from.
      let done = false;
      const lookup = restarted.get(names.plural).finally(() => (done = true));
      const lists: Array<Promise<void>> = [];
      while (!done) {
        lists.push(
          restarted.list().then((listed) => {
            if (!listed.some((k) => k.kind === names.kind)) short.push(`round ${round}: ${listed.length} kinds`);
          }),
        );
        await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(lists);
      expect((await lookup)?.definition.kind).toBe(names.kind);
    }
    expect(short).toEqual([]);
  });
});

describe('a stored kind that breaks the rules', () => {
  it('is logged and kept as unusable: the API keeps answering, its objects cannot be written, an admin can fix it', async () => {
    const names = kindName('Broken');
    const definition = { ...gadgetKind(names), singular: names.kind.toLowerCase(), shortNames: [], references: [], secretFields: [] };
    definition.schema = { type: 'object', $async: true, additionalProperties: false, properties: { size: { type: 'integer' } } } as never;
    // As an API before these rules stored it.
    await api.sql('insert into kinds (kind, plural, definition) values ($1, $2, $3)', [names.kind, names.plural, JSON.stringify(definition)]);

    // A fresh registry over the same database is what a restart builds: it must not throw.
    const restarted = createKindRegistry({ db: api.server.database.db, logger: pino({ level: 'silent' }) });
    expect((await restarted.list()).map((k) => k.kind)).toContain(names.kind);
    expect((await restarted.get(names.plural))?.unusable).toMatch(/asynchronous/);

    const write = await api.call('POST', `/v1/${names.plural}`, { metadata: { name: 'x', project: 'team-a' }, spec: { size: 1 } });
    expect(write.status).toBe(422);
    expect(write.body.error.details).toEqual([{ path: 'spec', rule: 'unusable-kind' }]);
    expect((await api.call('GET', `/v1/${names.plural}`)).status).toBe(200);
    expect(api.logText()).toContain('stored kind is unusable');

    const fixed = await api.call('PUT', `/v1/kinds/${names.kind}`, gadgetKind(names));
    expect(fixed.status).toBe(200);
    expect((await api.call('POST', `/v1/${names.plural}`, { metadata: { name: 'x', project: 'team-a' }, spec: { size: 1 } })).status).toBe(201);
  });
});

describe('updating and deleting kinds', () => {
  it('accepts a compatible schema change and refuses one that stored objects would fail, naming them', async () => {
    const names = kindName('Gadget');
    expect((await api.call('POST', '/v1/kinds', gadgetKind(names))).status).toBe(201);
    for (const [name, size] of [['g5', 5], ['g8', 8], ['g9', 9]] as const) {
      expect((await api.call('POST', `/v1/${names.plural}`, { metadata: { name, project: 'team-a' }, spec: { size } })).status).toBe(201);
    }

    const narrower = await api.call('PUT', `/v1/kinds/${names.kind}`, gadgetKind(names, { size: { type: 'integer', maximum: 6 } }));
    expect(narrower.status).toBe(409);
    expect(narrower.body.error.message).toContain('would refuse 2 stored objects');
    expect(narrower.body.error.message).toContain(`${names.kind}/team-a/g8 (spec.size: must be <= 6)`);
    expect(narrower.body.error.details).toEqual([
      { path: `${names.kind}/team-a/g8: spec.size`, rule: 'maximum' },
      { path: `${names.kind}/team-a/g9: spec.size`, rule: 'maximum' },
    ]);
    expect((await api.call('GET', `/v1/kinds/${names.kind}`)).body.schema.properties.size.maximum).toBe(10);

    const wider = await api.call('PUT', `/v1/kinds/${names.kind}`, gadgetKind(names, { size: { type: 'integer', maximum: 9 }, colour: { type: 'string' } }));
    expect(wider.status).toBe(200);
    expect((await api.call('POST', `/v1/${names.plural}`, { metadata: { name: 'g10', project: 'team-a' }, spec: { size: 10 } })).status).toBe(422);
    expect((await api.call('POST', `/v1/${names.plural}`, { metadata: { name: 'c1', project: 'team-a' }, spec: { size: 1, colour: 'red' } })).status).toBe(201);

    const again = await fetch(`${api.url}/v1/kinds/${names.kind}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: 'Bearer test-admin-token' },
      body: JSON.stringify(gadgetKind(names, { size: { type: 'integer', maximum: 9 }, colour: { type: 'string' } })),
    });
    expect(again.status).toBe(200);
    expect(again.headers.get('tugboat-kind-action')).toBe('unchanged');

    const plural = await api.call('PUT', `/v1/kinds/${names.kind}`, { ...gadgetKind(names), plural: `${names.plural}x` });
    expect(plural.status).toBe(422);
    expect(plural.body.error.details).toEqual([{ path: 'plural', rule: 'immutable' }]);
    const secrets = await api.call('PUT', `/v1/kinds/${names.kind}`, gadgetKind(names, { size: { type: 'integer' }, colour: { type: 'string' } }, { secretFields: ['colour'] }));
    expect(secrets.status).toBe(409);
    expect(secrets.body.error.details[0]).toEqual({ path: 'secretFields', rule: 'immutable-while-objects' });
    const mismatch = await api.call('PUT', `/v1/kinds/${names.kind}`, { ...gadgetKind(names), kind: 'Other' });
    expect(mismatch.status).toBe(422);
  });

  it('checks a new schema against stored secrets in clear', async () => {
    const names = kindName('Vault');
    const properties = { password: { type: 'string', minLength: 1 } };
    expect((await api.call('POST', '/v1/kinds', gadgetKind(names, properties, { secretFields: ['password'] }))).status).toBe(201);
    expect((await api.call('POST', `/v1/${names.plural}`, { metadata: { name: 'v1', project: 'team-a' }, spec: { password: 'short' } })).status).toBe(201);
    // "<redacted>" (10 characters) would pass maxLength 12 and fail pattern ^s; the stored secret does the opposite.
    expect((await api.call('PUT', `/v1/kinds/${names.kind}`, gadgetKind(names, { password: { type: 'string', pattern: '^s' } }, { secretFields: ['password'] }))).status).toBe(200);
    const tooShort = await api.call('PUT', `/v1/kinds/${names.kind}`, gadgetKind(names, { password: { type: 'string', minLength: 8 } }, { secretFields: ['password'] }));
    expect(tooShort.status).toBe(409);
    expect(tooShort.body.error.details).toEqual([{ path: `${names.kind}/team-a/v1: spec.password`, rule: 'minLength' }]);
  });

  it('holds writes through this replica to both schemas while stored objects are being checked', async () => {
    const names = kindName('Held');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let scanning!: () => void;
    const scanStarted = new Promise<void>((resolve) => (scanning = resolve));
    const registry = createKindRegistry({
      db: api.server.database.db,
      objects: {
        sample: async () => ({ total: 0, names: [] }),
        specs: () => ({
          async *[Symbol.asyncIterator]() {
            scanning();
            await gate;
            // No stored object: the check passes once the gate opens.
            yield* [];
          },
        }),
      },
    });
    await registry.register(gadgetKind(names));
    const updating = registry.apply(names.kind, gadgetKind(names, { size: { type: 'integer', maximum: 5 } }));
    await scanStarted;
    const kind = await registry.getOrThrow(names.kind);
    expect(kind.validateSpec({ size: 8 })).toEqual([expect.objectContaining({ path: 'spec.size', rule: 'maximum' })]);
    expect(kind.validateSpec({ size: 11 })).toEqual([expect.objectContaining({ path: 'spec.size', rule: 'maximum' })]);
    release();
    expect((await updating).action).toBe('updated');
    expect((await registry.getOrThrow(names.kind)).validateSpec({ size: 4 })).toEqual([]);
  });

  it('reads every stored spec page by page, in (project, name) order', async () => {
    const names = kindName('Paged');
    expect((await api.call('POST', '/v1/kinds', gadgetKind(names, { size: { type: 'integer' } }, { scope: 'Project' }))).status).toBe(201);
    for (const [project, name] of [['p-b', 'x'], ['p-a', 'z'], ['p-a', 'y'], ['p-b', 'a'], ['p-c', 'k']]) {
      expect((await api.call('POST', `/v1/${names.plural}`, { metadata: { name, project }, spec: { size: 1 } })).status).toBe(201);
    }
    // The secrets of this kind are none, so any key opens them.
    const objects = createKindObjects({ secrets: createSecretBox({ keys: [{ id: 'unused', key: Buffer.alloc(32) }] }) });
    const seen: string[] = [];
    for await (const stored of objects.specs(api.server.database.db, names.kind, 2)) seen.push(stored.name);
    expect(seen).toEqual(['p-a/y', 'p-a/z', 'p-b/a', 'p-b/x', 'p-c/k'].map((key) => `${names.kind}/${key}`));
    expect(await objects.sample(api.server.database.db, names.kind, 2)).toEqual({ total: 5, names: [`${names.kind}/p-a/y`, `${names.kind}/p-a/z`] });
  });

  it('deletes a kind only when no object and no other kind uses it', async () => {
    const names = kindName('Doomed');
    const user = kindName('User');
    expect((await api.call('POST', '/v1/kinds', gadgetKind(names))).status).toBe(201);
    expect((await api.call('POST', `/v1/${names.plural}`, { metadata: { name: 'd1', project: 'team-a' }, spec: { size: 1 } })).status).toBe(201);
    expect(
      (await api.call('POST', '/v1/kinds', gadgetKind(user, { target: { type: 'object', properties: { name: { type: 'string' } } } }, { references: [{ path: 'target', kind: names.kind }] }))).status,
    ).toBe(201);

    const referenced = await api.call('DELETE', `/v1/kinds/${names.kind}`);
    expect(referenced.status).toBe(409);
    expect(referenced.body.error.message).toContain(`referenced by kind ${user.kind}`);
    expect((await api.call('DELETE', `/v1/kinds/${user.plural}`)).status).toBe(200);

    const withObjects = await api.call('DELETE', `/v1/kinds/${names.kind}`);
    expect(withObjects.status).toBe(409);
    expect(withObjects.body.error.message).toContain(`1 object of it exist: ${names.kind}/team-a/d1`);
    expect(withObjects.body.error.details).toEqual([{ path: 'kind', rule: 'has-objects' }, { path: `${names.kind}/team-a/d1`, rule: 'exists' }]);

    expect((await api.call('DELETE', `/v1/${names.plural}/d1?project=team-a`)).status).toBe(202);
    expect((await api.call('DELETE', `/v1/${names.plural}/d1/finalizers/gadget-controller?project=team-a&force=true`)).status).toBe(200);
    const deleted = await api.call('DELETE', `/v1/kinds/${names.kind}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body.kind).toBe(names.kind);
    expect(await storedKinds(names.kind)).toBe(0);
    expect((await api.call('GET', `/v1/${names.plural}`)).status).toBe(404);
    expect((await api.call('DELETE', `/v1/kinds/${names.kind}`)).status).toBe(404);
  });

  it('refuses changes to built-in kinds and to anyone but the admin', async () => {
    const builtIn = (await api.call('GET', '/v1/kinds/WorkloadInstance')).body;
    const { builtIn: _flag, ...definition } = builtIn;
    const put = await api.call('PUT', '/v1/kinds/WorkloadInstance', definition);
    expect(put.status).toBe(403);
    expect(put.body.error.message).toContain('built in');
    expect((await api.call('DELETE', '/v1/kinds/workloadinstances')).status).toBe(403);
    const names = kindName('Guarded');
    expect((await api.call('PUT', `/v1/kinds/${names.kind}`, gadgetKind(names), { token: userToken })).status).toBe(403);
    expect((await api.call('DELETE', '/v1/kinds/WorkloadInstance', undefined, { token: userToken })).status).toBe(403);
  });

  it('shows every change to another replica: on a miss at once, on a version bump at its next check', async () => {
    const other = createKindRegistry({ db: api.server.database.db, reloadIntervalMs: 0 });
    await other.list();
    const changes: KindChange[] = [];
    other.onChange((change) => changes.push(change));
    const names = kindName('Shared');

    expect((await api.call('PUT', `/v1/kinds/${names.kind}`, gadgetKind(names))).status).toBe(201);
    expect((await other.get(names.plural))?.definition.schema).toMatchObject({ properties: { size: { maximum: 10 } } });
    expect(changes).toContainEqual({ added: [names.kind], changed: [], removed: [] });

    expect((await api.call('PUT', `/v1/kinds/${names.kind}`, gadgetKind(names, { size: { type: 'integer', maximum: 20 } }))).status).toBe(200);
    await other.refresh();
    expect((await other.get(names.plural))?.validateSpec({ size: 15 })).toEqual([]);
    expect(changes).toContainEqual({ added: [], changed: [names.kind], removed: [] });

    expect((await api.call('DELETE', `/v1/kinds/${names.kind}`)).status).toBe(200);
    await other.refresh();
    expect(await other.get(names.plural)).toBeUndefined();
    expect(changes).toContainEqual({ added: [], changed: [], removed: [names.kind] });
  });
});
