/**
 * The tenant matrix (issue 10): every route × every role × (own project, other project, platform),
 * the expected answer written down in one table (`ALLOWED` below, independent of the code under
 * test), run against the real API on Postgres and NATS. Then: lists and watches without a project
 * never carry another project's objects, and a canary secret is readable only by its kind's
 * owner and the controller it grants, each read audited.
 */
import { randomBytes } from 'node:crypto';
import { ADMIN_TOKEN, startTestApi, waitUntil, type TestApi } from './api-test-harness.js';

type Target = 'own' | 'other' | 'platform';
type Role =
  | 'viewer'
  | 'editor'
  | 'admin'
  | 'deployer'
  | 'platform-viewer'
  | 'platform-editor'
  | 'platform-admin'
  | 'box-controller'
  | 'reader-controller'
  | 'stranger'
  | 'nobody';

/** A route: how to call it on one target (fresh objects for the ones that use them up). */
interface Route {
  name: string;
  /** Names one object: a caller who may not read it is answered 404, as if it did not exist. */
  object: boolean;
  call(target: Target, token: string): Promise<{ status: number; body: unknown }>;
}

const READS = ['get', 'list', 'watch', 'events', 'revisions', 'referrers'];
const WRITES = ['create', 'update', 'delete', 'suspend', 'postEvent', 'apply'];
const CONTROLLER = ['status', 'removeFinalizer', 'postEvent', 'secrets'];
const on = (targets: Target[], routes: string[]) => targets.flatMap((target) => routes.map((route) => `${route}@${target}`));

/**
 * What each role may do, route@target. Everything else is refused: 404 on a route naming an object
 * the role may not read (`READABLE`), 403 otherwise. Box is project-scoped (owned by
 * box-controller, its secret granted to reader-controller); Shelf is platform-wide and referenced
 * by Box, so any project role reads it (the catalogue).
 */
const ALLOWED: Record<Role, string[]> = {
  viewer: on(['own', 'platform'], READS),
  editor: [...on(['own', 'platform'], READS), ...on(['own'], WRITES)],
  admin: [...on(['own', 'platform'], READS), ...on(['own'], [...WRITES, 'forceFinalizer'])],
  // Custom: Box × get, list, update (events and revisions are reads of the object; posting an event takes update).
  deployer: [...on(['own'], ['get', 'list', 'events', 'revisions', 'referrers', 'update', 'postEvent']), ...on(['platform'], READS)],
  'platform-viewer': on(['own', 'other', 'platform'], READS),
  'platform-editor': [...on(['own', 'other', 'platform'], READS), ...on(['platform'], WRITES)],
  'platform-admin': [...on(['own', 'other', 'platform'], [...READS, ...WRITES, 'forceFinalizer'])],
  'box-controller': [...on(['own', 'other', 'platform'], READS), ...on(['own', 'other'], CONTROLLER)],
  // A secret reader reads the objects whose secrets it reads (not what they reference).
  'reader-controller': on(['own', 'other'], [...READS, 'secrets']),
  stranger: on(['platform'], READS),
  nobody: [],
};

const READABLE: Record<Role, Target[]> = {
  viewer: ['own', 'platform'],
  editor: ['own', 'platform'],
  admin: ['own', 'platform'],
  deployer: ['own', 'platform'],
  'platform-viewer': ['own', 'other', 'platform'],
  'platform-editor': ['own', 'other', 'platform'],
  'platform-admin': ['own', 'other', 'platform'],
  'box-controller': ['own', 'other', 'platform'],
  'reader-controller': ['own', 'other'],
  stranger: ['platform'],
  nobody: [],
};

describe('tenant matrix: every route × role × (own project, other project, platform)', () => {
  let api: TestApi;
  const tokens = {} as Record<Role, string>;
  let counter = 0;
  const unique = (what: string) => `${what}-${++counter}`;

  const plural = (target: Target) => (target === 'platform' ? 'shelves' : 'boxes');
  const kindOf = (target: Target) => (target === 'platform' ? 'Shelf' : 'Box');
  const projectOf = (target: Target) => (target === 'own' ? 'own' : target === 'other' ? 'other' : undefined);
  const query = (target: Target) => (projectOf(target) ? `?project=${projectOf(target)}` : '');
  const objectPath = (target: Target, name: string, suffix = '') => `/v1/${plural(target)}/${name}${suffix}${query(target)}`;
  const body = (target: Target, name: string) => ({
    kind: kindOf(target),
    metadata: { name, ...(projectOf(target) ? { project: projectOf(target) } : {}) },
    spec: target === 'platform' ? { size: 1 } : { size: 1, password: `pw-${name}`, shelfRef: { name: 'main' } },
  });
  /** A new object made by the platform admin, for the routes that use one up. */
  async function fresh(target: Target): Promise<string> {
    const name = unique('x');
    const created = await api.call('POST', `/v1/${plural(target)}`, body(target, name));
    if (created.status !== 201) throw new Error(`fresh ${target}: ${created.status} ${JSON.stringify(created.body)}`);
    return name;
  }

  async function watchStatus(path: string, token: string): Promise<{ status: number; body: unknown }> {
    const abort = new AbortController();
    const response = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
    const answer = { status: response.status, body: response.status === 200 ? undefined : ((await response.json()) as unknown) };
    abort.abort();
    return answer;
  }

  const routes: Route[] = [
    { name: 'get', object: true, call: (t, token) => api.call('GET', objectPath(t, 'b1'), undefined, { token }) },
    { name: 'list', object: false, call: (t, token) => api.call('GET', `/v1/${plural(t)}${query(t)}`, undefined, { token }) },
    { name: 'watch', object: false, call: (t, token) => watchStatus(`/v1/watch?kinds=${kindOf(t)}${projectOf(t) ? `&project=${projectOf(t)}` : ''}`, token) },
    { name: 'events', object: true, call: (t, token) => api.call('GET', objectPath(t, 'b1', '/events'), undefined, { token }) },
    { name: 'revisions', object: true, call: (t, token) => api.call('GET', objectPath(t, 'b1', '/revisions'), undefined, { token }) },
    { name: 'referrers', object: true, call: (t, token) => api.call('GET', objectPath(t, 'b1', '/referrers'), undefined, { token }) },
    { name: 'create', object: false, call: (t, token) => api.call('POST', `/v1/${plural(t)}`, body(t, unique('c')), { token }) },
    { name: 'update', object: true, call: (t, token) => api.call('PATCH', objectPath(t, 'b1'), { metadata: { labels: { touched: unique('v') } } }, { token }) },
    { name: 'delete', object: true, call: async (t, token) => api.call('DELETE', objectPath(t, await fresh(t)), undefined, { token }) },
    { name: 'suspend', object: true, call: async (t, token) => api.call('POST', objectPath(t, await fresh(t), '/suspend'), undefined, { token }) },
    { name: 'postEvent', object: true, call: (t, token) => api.call('POST', objectPath(t, 'b1', '/events'), { type: 'Normal', reason: 'Poked', message: 'matrix' }, { token }) },
    { name: 'apply', object: false, call: (t, token) => api.call('POST', '/v1/apply', { items: [body(t, unique('a'))] }, { token }) },
    { name: 'status', object: true, call: (t, token) => api.call('PUT', objectPath(t, 'b1', '/status'), { status: { phase: 'Ready', observedGeneration: 1 } }, { token }) },
    {
      name: 'removeFinalizer',
      object: true,
      call: async (t, token) => api.call('DELETE', objectPath(t, await fresh(t), `/finalizers/${t === 'platform' ? 'shelf-controller' : 'box-controller'}`), undefined, { token }),
    },
    {
      name: 'forceFinalizer',
      object: true,
      call: async (t, token) => {
        const name = await fresh(t);
        return api.call('DELETE', `/v1/${plural(t)}/${name}/finalizers/${t === 'platform' ? 'shelf-controller' : 'box-controller'}?force=true${projectOf(t) ? `&project=${projectOf(t)}` : ''}`, undefined, { token });
      },
    },
    { name: 'secrets', object: true, call: (t, token) => api.call('GET', objectPath(t, 'b1', '/secrets'), undefined, { token }) },
  ];

  beforeAll(async () => {
    api = await startTestApi({ projects: [] });
    const admin = (method: string, path: string, payload?: unknown) => api.call(method, path, payload);
    const must = async (answer: Promise<{ status: number; body: unknown }>, status: number) => {
      const { status: got, body: answerBody } = await answer;
      if (got !== status) throw new Error(`setup: ${got} ${JSON.stringify(answerBody)}`);
      return answerBody as Record<string, unknown>;
    };
    const object = { type: 'object', additionalProperties: false };
    await must(admin('POST', '/v1/kinds', { kind: 'Shelf', plural: 'shelves', scope: 'Platform', controller: 'shelf-controller', schema: { ...object, properties: { size: { type: 'integer' } } } }), 201);
    await must(
      admin('POST', '/v1/kinds', {
        kind: 'Box',
        plural: 'boxes',
        scope: 'Project',
        controller: 'box-controller',
        schema: { ...object, properties: { size: { type: 'integer' }, password: { type: 'string' }, shelfRef: { ...object, properties: { name: { type: 'string' } } } } },
        references: [{ path: 'shelfRef', kind: 'Shelf' }],
        secretFields: ['password'],
        secretReaders: ['reader-controller'],
      }),
      201,
    );
    const customRoles = [{ name: 'deployer', rules: [{ kinds: ['Box'], verbs: ['get', 'list', 'update'] }] }];
    await must(admin('POST', '/v1/projects', { kind: 'Project', metadata: { name: 'own' }, spec: { members: [{ user: 'vic', role: 'viewer' }, { user: 'olga', role: 'admin' }], roles: customRoles } }), 201);
    await must(admin('POST', '/v1/projects', { kind: 'Project', metadata: { name: 'other' }, spec: { members: [{ user: 'oscar', role: 'admin' }] } }), 201);
    await must(admin('POST', '/v1/shelves', body('platform', 'main')), 201);
    await must(admin('POST', '/v1/shelves', body('platform', 'b1')), 201);
    await must(admin('POST', '/v1/boxes', body('own', 'b1')), 201);
    await must(admin('POST', '/v1/boxes', body('other', 'b1')), 201);

    const token = async (input: Record<string, unknown>) => (await must(admin('POST', '/v1/tokens', input), 201))['token'] as string;
    tokens.viewer = await token({ name: 'vic-laptop', user: 'vic' });
    tokens.editor = await token({ name: 'own-ci', project: 'own', role: 'editor' });
    tokens.admin = await token({ name: 'olga-laptop', user: 'olga' });
    tokens.deployer = await token({ name: 'own-deployer', project: 'own', role: 'deployer' });
    tokens['platform-viewer'] = await token({ name: 'auditor', role: 'platform-viewer' });
    tokens['platform-editor'] = await token({ name: 'platform-team', role: 'platform-editor' });
    tokens['platform-admin'] = ADMIN_TOKEN;
    tokens['box-controller'] = await token({ name: 'box-controller', controller: 'box-controller' });
    tokens['reader-controller'] = await token({ name: 'reader-controller', controller: 'reader-controller' });
    // A user with a role in `other` only: the platform object is in its catalogue, `own` is not its.
    tokens.stranger = await token({ name: 'oscar-laptop', user: 'oscar' });
    tokens.nobody = await token({ name: 'walk-in', user: 'walk-in' });
  }, 60_000);

  afterAll(async () => {
    await api?.close();
  });

  // `stranger` is an admin of `other`: its allowed cells are those of an admin, mirrored.
  ALLOWED.stranger = [...ALLOWED.stranger, ...on(['other'], [...READS, ...WRITES, 'forceFinalizer'])];
  READABLE.stranger = ['other', 'platform'];

  const roles = Object.keys(ALLOWED) as Role[];
  it.each(roles)('%s: each route on its own project, another project and the platform answers as the table says', async (role) => {
    const mismatches: string[] = [];
    for (const route of routes) {
      for (const target of ['own', 'other', 'platform'] as Target[]) {
        const cell = `${route.name}@${target}`;
        const { status, body: answer } = await route.call(target, tokens[role]);
        const allowed = ALLOWED[role].includes(cell);
        const expected = allowed ? '2xx' : route.object && !READABLE[role].includes(target) ? '404' : '403';
        const got = status >= 200 && status < 300 ? '2xx' : String(status);
        if (got !== expected) mismatches.push(`${cell}: expected ${expected}, got ${status} ${JSON.stringify(answer).slice(0, 200)}`);
      }
    }
    expect(mismatches).toEqual([]);
  }, 60_000);

  // An apply's refusal said "may not update" for a name that exists and "may not create" for one that does not.
  it('refuses an apply into a project the caller cannot read with one message, whether or not the object exists', async () => {
    const existing = await fresh('other');
    const refusal = async (token: string, name: string, target: Target = 'other') => {
      const answer = await api.call('POST', '/v1/apply?dryRun=true', { items: [body(target, name)] }, { token });
      return [answer.status, (answer.body as { error?: { message?: string } }).error?.message];
    };
    for (const role of ['viewer', 'editor', 'nobody'] as const) {
      const [status, message] = await refusal(tokens[role], existing);
      expect(status).toBe(403);
      expect(message).toMatch(/may not create or update Box in project other$/);
      expect(await refusal(tokens[role], unique('missing'))).toEqual([status, message]);
    }
    // A platform object the caller may read: the specific refusal, as before.
    const shelf = await refusal(tokens.editor, 'main', 'platform');
    expect(shelf).toEqual([403, expect.stringContaining('may not update Shelf')]);
  });

  it('narrows a list without a project to the caller\'s projects, in the query', async () => {
    const projectsIn = async (token: string) => {
      const answer = await api.call('GET', '/v1/boxes?limit=1000', undefined, { token });
      return answer.status === 200 ? [...new Set((answer.body.items as Array<{ metadata: { project: string } }>).map((i) => i.metadata.project))].sort() : answer.status;
    };
    expect(await projectsIn(tokens.viewer)).toEqual(['own']);
    expect(await projectsIn(tokens.stranger)).toEqual(['other']);
    expect(await projectsIn(tokens['platform-viewer'])).toEqual(['other', 'own']);
    expect(await projectsIn(tokens['box-controller'])).toEqual(['other', 'own']);
    expect(await projectsIn(tokens.nobody)).toBe(403);
    expect(await projectsIn(tokens['reader-controller'])).toEqual(['other', 'own']);
    // Projects themselves: each sees its own.
    const projectNames = async (token: string) => ((await api.call('GET', '/v1/projects', undefined, { token })).body.items as Array<{ metadata: { name: string } }>).map((p) => p.metadata.name);
    expect(await projectNames(tokens.viewer)).toEqual(['own']);
    expect(await projectNames(tokens.stranger)).toEqual(['other']);
    expect(await projectNames(ADMIN_TOKEN)).toEqual(['other', 'own']);
    // A shared object's referrers: only those the caller may read.
    const referrers = async (token: string) => [...new Set(((await api.call('GET', '/v1/shelves/main/referrers', undefined, { token })).body.items as Array<{ project: string }>).map((r) => r.project))].sort();
    expect(await referrers(tokens.viewer)).toEqual(['own']);
    expect(await referrers(ADMIN_TOKEN)).toEqual(['other', 'own']);
  });

  it('never sends another project\'s change to a watch', async () => {
    const seen: string[] = [];
    const abort = new AbortController();
    const response = await fetch(`${api.url}/v1/watch?kinds=Box`, { headers: { authorization: `Bearer ${tokens.viewer}` }, signal: abort.signal });
    expect(response.status).toBe(200);
    const reading = (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
          for (const match of decoder.decode(chunk, { stream: true }).matchAll(/"project":"([a-z0-9-]*)","name":"([a-z0-9-]+)"/g)) seen.push(`${match[1]}/${match[2]}`);
        }
      } catch {
        // aborted
      }
    })();
    const marker = unique('w');
    for (const project of ['other', 'own'] as const) expect((await api.call('POST', '/v1/boxes', body(project, marker))).status).toBe(201);
    // The own change arrives after the other one was committed: had the other been sent, it would be here.
    await waitUntil(() => seen.includes(`own/${marker}`) || undefined, 'the own change on the watch');
    abort.abort();
    await reading;
    expect(seen.filter((key) => !key.startsWith('own/'))).toEqual([]);
  });

  it('keeps a canary secret to the owning controller and the one it grants, each read audited', async () => {
    const canary = `canary-${randomBytes(8).toString('hex')}`;
    expect((await api.call('PATCH', '/v1/boxes/b1?project=own', { spec: { password: canary } })).status).toBe(200);
    const read = async (role: Role) => {
      const answer = await api.call('GET', '/v1/boxes/b1/secrets?project=own', undefined, { token: tokens[role] });
      return [answer.status, JSON.stringify(answer.body).includes(canary)];
    };
    expect(await read('box-controller')).toEqual([200, true]);
    expect(await read('reader-controller')).toEqual([200, true]);
    for (const role of roles.filter((r) => r !== 'box-controller' && r !== 'reader-controller')) {
      const [status, leaked] = await read(role);
      expect([role, leaked]).toEqual([role, false]);
      expect([role, status]).toEqual([role, READABLE[role].includes('own') ? 403 : 404]);
    }
    // Nowhere else: not in a get, a list, a revision or the audit trail itself.
    for (const path of ['/v1/boxes/b1?project=own', '/v1/boxes?project=own', '/v1/boxes/b1/revisions?project=own', '/v1/audit?limit=1000']) {
      expect(JSON.stringify((await api.call('GET', path)).body)).not.toContain(canary);
    }
    const reads = await api.call('GET', '/v1/audit?kind=Box&action=readSecrets&project=own&limit=1000');
    const byWho = (reads.body.items as Array<{ actor: string; token: string | null; outcome: string; name: string }>).filter((r) => r.name === 'b1');
    expect(byWho.filter((r) => r.outcome === 'success').map((r) => r.token).sort()).toEqual(expect.arrayContaining(['box-controller', 'reader-controller']));
    // The refused reads are there too, as denied, naming who tried.
    expect(byWho.filter((r) => r.outcome === 'denied').map((r) => r.token)).toEqual(expect.arrayContaining(['own-ci', 'walk-in']));
  });
});
