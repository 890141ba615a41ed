/**
 * Releases, DeliveryPolicies and Rollouts through the API, in-process against real Postgres and
 * NATS: an automatic tier takes every change at once; an approval tier holds every change (the
 * first expansion, a Release, a spec edit) in a PendingApproval Rollout until someone whose role
 * the policy names approves it (a viewer's approval is refused); a required earlier tier holds an
 * approval until the release is Ready there; a rejection sticks; an undo goes back through the
 * same path; an approval of a proposal the Application has moved past is refused and names the new one.
 * (The workload-controller's readiness is written straight into the rows here; e2e/src/application.test.ts runs the real one.)
 */
import { startTestApi, type TestApi } from './api-test-harness.js';

const P = 'deliver';
const TIER = 'tugboat.dev/tier';
const digest = (n: number) => `ghcr.io/example/shop@sha256:${String(n).repeat(64).slice(0, 64)}`;

const platform = [
  { kind: 'ClusterDefinition', metadata: { name: 'local' }, spec: { provider: 'kubeconfig' } },
  { kind: 'ClusterInstance', metadata: { name: 'dev', labels: { [TIER]: 'dev' } }, spec: { definitionRef: { name: 'local' }, kubeconfig: 'apiVersion: v1' } },
  { kind: 'ClusterInstance', metadata: { name: 'prod', labels: { [TIER]: 'prod' } }, spec: { definitionRef: { name: 'local' }, kubeconfig: 'apiVersion: v1' } },
  { kind: 'WorkloadDefinition', metadata: { name: 'shop' }, spec: { container: { image: 'ghcr.io/example/shop:1.0', ports: [{ port: 8080 }] }, overridable: ['image', 'replicas'], maxReplicas: 5 } },
  { kind: 'DeliveryPolicy', metadata: { name: 'dev' }, spec: { tier: 'dev', mode: 'automatic' } },
  { kind: 'DeliveryPolicy', metadata: { name: 'prod' }, spec: { tier: 'prod', mode: 'approval', approvers: { roles: ['editor', 'admin'] }, requires: { tier: 'dev' } } },
];

const app = (replicas = 1) => ({
  kind: 'Application',
  metadata: { name: 'shop', project: P },
  spec: { targets: [{ tier: 'dev' }, { tier: 'prod' }], workloads: [{ name: 'web', definitionRef: { name: 'shop' }, overrides: { replicas } }] },
});

const release = (name: string, n: number) => ({
  kind: 'Release',
  metadata: { name, project: P },
  spec: { application: { name: 'shop' }, component: 'web', image: digest(n), commit: 'abc1234', buildUrl: 'https://ci.example.com/runs/1' },
});

describe('Application delivery: releases, approvals, undo (API, real Postgres and NATS)', () => {
  let api: TestApi;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    api = await startTestApi();
    const must = async (answer: Promise<{ status: number; body: Record<string, unknown> }>, status: number) => {
      const { status: got, body } = await answer;
      if (got !== status) throw new Error(`expected ${status}, got ${got}: ${JSON.stringify(body)}`);
      return body;
    };
    await must(api.call('POST', '/v1/projects', { kind: 'Project', metadata: { name: P }, spec: { members: [{ user: 'vic', role: 'viewer' }, { user: 'eddie', role: 'editor' }], roles: [{ name: 'releaser', rules: [{ kinds: ['Release'], verbs: ['get', 'list', 'create'] }] }] } }), 201);
    tokens['viewer'] = (await must(api.call('POST', '/v1/tokens', { name: 'vic-laptop', user: 'vic' }), 201))['token'] as string;
    tokens['editor'] = (await must(api.call('POST', '/v1/tokens', { name: 'eddie-laptop', user: 'eddie' }), 201))['token'] as string;
    tokens['ci'] = (await must(api.call('POST', '/v1/tokens', { name: 'shop-ci', project: P, role: 'editor' }), 201))['token'] as string;
    tokens['releaser'] = (await must(api.call('POST', '/v1/tokens', { name: 'narrow-ci', project: P, role: 'releaser' }), 201))['token'] as string;
    await must(api.call('POST', '/v1/apply', { items: platform }), 200);
  });
  afterAll(async () => {
    await api?.close();
  });

  const image = async (name: string) => (await api.sql(`select spec->'overrides'->>'image' as image from resources where kind = 'WorkloadInstance' and name = $1`, [name]))[0]?.image as string | null | undefined;
  const rollout = async (name: string) => (await api.call('GET', `/v1/rollouts/${name}?project=${P}`)).body;
  const as = (who: string) => ({ token: tokens[who]! });
  /** What the workload-controller writes once a copy runs its spec: Ready at its generation. */
  const markReady = (name: string) =>
    api.sql(`update resources set status = jsonb_build_object('phase', 'Ready', 'observedGeneration', generation) where kind = 'WorkloadInstance' and name = $1`, [name]);

  it('rolls out to an automatic tier at once and holds an approval tier until an allowed role approves', async () => {
    const created = await api.call('POST', '/v1/applications', app(), as('editor'));
    expect(created.status).toBe(201);
    expect(await image('shop-web-dev')).toBeNull();
    expect(await image('shop-web-prod')).toBeUndefined();
    // The audit record names what committed: dev's copy and the Rollouts, not prod's held copy.
    const [created_] = await api.sql(`select detail from audit_records where action = 'create' and kind = 'Application' and name = 'shop'`);
    expect(created_.detail.alsoChanged).toEqual(expect.arrayContaining([`WorkloadInstance/${P}/shop-web-dev`, `Rollout/${P}/shop-prod-1`]));
    expect(created_.detail.alsoChanged).not.toContain(`WorkloadInstance/${P}/shop-web-prod`);
    const dev = await rollout('shop-dev-1');
    expect(dev.status).toMatchObject({ state: 'Applied', decision: { action: 'automatic' } });
    const prod = await rollout('shop-prod-1');
    expect(prod.status).toMatchObject({ state: 'PendingApproval', phase: 'Pending', reason: 'ApprovalRequired' });
    expect(prod.status.message).toContain('tug rollout approve shop-prod-1');
    expect(prod.spec.changes).toEqual([expect.objectContaining({ kind: 'WorkloadInstance', name: 'shop-web-prod', action: 'created' })]);

    const refused = await api.call('POST', `/v1/rollouts/shop-prod-1/approve?project=${P}`, {}, as('viewer'));
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('editor or admin');
    expect(await image('shop-web-prod')).toBeUndefined();

    const approved = await api.call('POST', `/v1/rollouts/shop-prod-1/approve?project=${P}`, { message: 'first launch' }, as('editor'));
    expect(approved.status).toBe(200);
    expect(approved.body.rollout.status).toMatchObject({ state: 'Applied', decision: { action: 'approve', by: 'eddie', role: 'editor', message: 'first launch' } });
    expect(await image('shop-web-prod')).toBeNull();
    const audit = await api.call('GET', `/v1/audit?action=approve&project=${P}`);
    expect(audit.body.items).toEqual([expect.objectContaining({ actor: 'eddie', kind: 'Rollout', name: 'shop-prod-1' })]);

    const again = await api.call('POST', `/v1/rollouts/shop-prod-1/approve?project=${P}`, {}, as('editor'));
    expect(again.status).toBe(409);
  });

  it('rolls a release out to dev at once, and to prod on approval once it is Ready in dev, at the same digest', async () => {
    const made = await api.call('POST', '/v1/releases', release('shop-web-r1', 1), as('ci'));
    expect(made.status).toBe(201);
    expect(await image('shop-web-dev')).toBe(digest(1));
    expect(await image('shop-web-prod')).toBeNull();
    const pending = await rollout('shop-prod-2');
    expect(pending.status).toMatchObject({ state: 'PendingApproval', reason: 'WaitingForTier' });
    expect(pending.spec.releases).toEqual([{ component: 'web', release: 'shop-web-r1', image: digest(1) }]);

    const early = await api.call('POST', `/v1/rollouts/shop-prod-2/approve?project=${P}`, {}, as('editor'));
    expect(early.status).toBe(409);
    expect(early.body.error.message).toContain('not Ready in tier dev');

    await markReady('shop-web-dev');
    // The workload-controller asks for an expansion while a proposal waits for its required tier: it then says it may be approved.
    expect((await api.call('POST', `/v1/applications/shop/expand?project=${P}`)).status).toBe(200);
    const mayGo = await rollout('shop-prod-2');
    expect(mayGo.status).toMatchObject({ state: 'PendingApproval', reason: 'ApprovalRequired' });
    expect(mayGo.status.waitingFor).toBeUndefined();
    const approved = await api.call('POST', `/v1/rollouts/shop-prod-2/approve?project=${P}`, {}, as('editor'));
    expect(approved.status).toBe(200);
    expect(await image('shop-web-prod')).toBe(digest(1));
  });

  it('keeps a rejection, and undoes through the same path', async () => {
    expect((await api.call('POST', '/v1/releases', release('shop-web-r2', 2), as('ci'))).status).toBe(201);
    expect(await image('shop-web-dev')).toBe(digest(2));
    const rejected = await api.call('POST', `/v1/rollouts/shop-prod-3/reject?project=${P}`, { message: 'not this week' }, as('editor'));
    expect(rejected.status).toBe(200);
    expect(rejected.body.rollout.status).toMatchObject({ state: 'Rejected', decision: { action: 'reject', by: 'eddie' } });
    // Expanded again: the rejected change is not proposed anew.
    expect((await api.call('POST', `/v1/applications/shop/expand?project=${P}`)).status).toBe(200);
    expect((await api.sql(`select count(*)::int as n from resources where kind = 'Rollout' and labels->>'tugboat.dev/tier' = 'prod'`))[0].n).toBe(3);
    expect(await image('shop-web-prod')).toBe(digest(1));

    const undone = await api.call('POST', `/v1/applications/shop/undo?project=${P}`, { tier: 'dev' }, as('editor'));
    expect(undone.status).toBe(200);
    expect(undone.body.rollouts).toEqual([expect.objectContaining({ spec: expect.objectContaining({ cause: 'undo', tier: 'dev', releases: [expect.objectContaining({ release: 'shop-web-r1' })] }) })]);
    expect(await image('shop-web-dev')).toBe(digest(1));
    // The undo holds: expanding again does not bring r2 back.
    await api.call('POST', `/v1/applications/shop/expand?project=${P}`);
    expect(await image('shop-web-dev')).toBe(digest(1));
    const nothing = await api.call('POST', `/v1/applications/shop/undo?project=${P}`, { tier: 'prod' }, as('editor'));
    expect(nothing.status).toBe(409);
    expect(nothing.body.error.message).toContain('never ran an earlier release');
  });

  it('gates every change to an approval tier; approving a proposal the Application moved past is refused, naming the new one', async () => {
    const dry = await api.call('POST', '/v1/apply?dryRun=true', { items: [app(2)] }, as('editor'));
    expect(dry.status).toBe(200);
    const plan = dry.body.results as Array<{ name: string; action: string; rollout?: string }>;
    expect(plan.find((r) => r.name === 'shop-web-dev')?.action).toBe('updated');
    expect(plan.find((r) => r.name === 'shop-web-prod')).toMatchObject({ action: 'pending', rollout: 'shop-prod-4' });

    expect((await api.call('POST', '/v1/apply', { items: [app(2)] }, as('editor'))).status).toBe(200);
    const replicas = async (name: string) => (await api.sql(`select (spec->'overrides'->>'replicas')::int as n from resources where name = $1`, [name]))[0].n;
    expect(await replicas('shop-web-dev')).toBe(2);
    expect(await replicas('shop-web-prod')).toBe(1);
    expect((await rollout('shop-prod-4')).status.state).toBe('PendingApproval');

    expect((await api.call('POST', '/v1/apply', { items: [app(3)] }, as('editor'))).status).toBe(200);
    expect((await rollout('shop-prod-4')).status.state).toBe('Superseded');
    const stale = await api.call('POST', `/v1/rollouts/shop-prod-4/approve?project=${P}`, {}, as('editor'));
    expect(stale.status).toBe(409);
    const fresh = await api.call('POST', `/v1/rollouts/shop-prod-5/approve?project=${P}`, {}, as('editor'));
    expect(fresh.status).toBe(200);
    expect(await replicas('shop-web-prod')).toBe(3);
  });

  it('holds a release in an automatic tier until Ready in the tier it requires, then rolls it out by itself', async () => {
    await api.call('POST', '/v1/apply', {
      items: [
        { kind: 'ClusterInstance', metadata: { name: 'stage', labels: { [TIER]: 'staging' } }, spec: { definitionRef: { name: 'local' }, kubeconfig: 'apiVersion: v1' } },
        { kind: 'DeliveryPolicy', metadata: { name: 'staging' }, spec: { tier: 'staging', mode: 'automatic', requires: { tier: 'dev' } } },
        { kind: 'Application', metadata: { name: 'cart', project: P }, spec: { targets: [{ tier: 'dev' }, { tier: 'staging' }], workloads: [{ name: 'web', definitionRef: { name: 'shop' } }] } },
      ],
    });
    expect((await rollout('cart-staging-1')).status.state).toBe('Applied');
    const made = await api.call('POST', '/v1/releases', { ...release('cart-web-r1', 5), spec: { ...release('cart-web-r1', 5).spec, application: { name: 'cart' } } }, as('ci'));
    expect(made.status).toBe(201);
    expect(await image('cart-web-dev')).toBe(digest(5));
    expect(await image('cart-web-stage')).toBeNull();
    const waiting = await rollout('cart-staging-2');
    expect(waiting.status).toMatchObject({ state: 'Waiting', reason: 'WaitingForTier', waitingFor: expect.stringContaining('not Ready in tier dev') });
    const early = await api.call('POST', `/v1/rollouts/cart-staging-2/approve?project=${P}`, {}, as('editor'));
    expect(early.status).toBe(409);
    expect(early.body.error.message).toContain('rolls out by itself');

    await markReady('cart-web-dev');
    // What the workload-controller asks for while a rollout waits.
    expect((await api.call('POST', `/v1/applications/cart/expand?project=${P}`)).status).toBe(200);
    expect(await image('cart-web-stage')).toBe(digest(5));
    expect((await rollout('cart-staging-2')).status).toMatchObject({ state: 'Applied', decision: { action: 'automatic' } });
  });

  it('applies a proposal at the next expansion once its tier no longer asks for approval; a viewer still decides nothing', async () => {
    expect((await api.call('POST', '/v1/apply', { items: [app(4)] }, as('editor'))).status).toBe(200);
    expect((await rollout('shop-prod-6')).status.state).toBe('PendingApproval');
    const policy = (state: string) => ({ kind: 'DeliveryPolicy', metadata: { name: 'prod' }, spec: { tier: 'prod', mode: state, ...(state === 'approval' ? { approvers: { roles: ['editor', 'admin'] }, requires: { tier: 'dev' } } : {}) } });
    expect((await api.call('POST', '/v1/apply', { items: [policy('automatic')] })).status).toBe(200);
    expect((await api.call('POST', `/v1/rollouts/shop-prod-6/approve?project=${P}`, {}, as('viewer'))).status).toBe(403);
    expect((await api.call('POST', `/v1/applications/shop/expand?project=${P}`)).status).toBe(200);
    expect((await rollout('shop-prod-6')).status).toMatchObject({ state: 'Applied', decision: { action: 'automatic' } });
    expect((await api.sql(`select (spec->'overrides'->>'replicas')::int as n from resources where name = 'shop-web-prod'`))[0].n).toBe(4);
    expect((await api.call('POST', '/v1/apply', { items: [policy('approval')] })).status).toBe(200);
  });

  it('applies a proposal once when two people approve it at the same moment', async () => {
    expect((await api.call('POST', '/v1/apply', { items: [app(1)] }, as('editor'))).status).toBe(200);
    const pending = (await api.sql(`select name from resources where kind = 'Rollout' and labels->>'tugboat.dev/tier' = 'prod' and status->>'state' = 'PendingApproval'`)).map((r) => r.name as string);
    expect(pending).toHaveLength(1);
    const answers = await Promise.all([as('editor'), as('ci'), as('editor')].map((who) => api.call('POST', `/v1/rollouts/${pending[0]}/approve?project=${P}`, {}, who)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409]);
    expect((await api.sql(`select count(*)::int as n from audit_records where action = 'approve' and name = $1`, [pending[0]]))[0].n).toBe(1);
    expect((await api.sql(`select (spec->'overrides'->>'replicas')::int as n from resources where name = 'shop-web-prod'`))[0].n).toBe(1);
  });

  it('serializes an approval against an Application write: no deadlock, no 5xx, one of the two wins', async () => {
    for (let round = 0; round < 3; round += 1) {
      // A proposal that differs from what prod runs, raced by a write that differs from the proposal.
      const running = (await api.sql(`select (spec->'overrides'->>'replicas')::int as n from resources where name = 'shop-web-prod'`))[0].n as number;
      const proposed = (running % 5) + 1;
      expect((await api.call('POST', '/v1/apply', { items: [app(proposed)] }, as('editor'))).status).toBe(200);
      const pending = (await api.sql(`select name from resources where kind = 'Rollout' and labels->>'tugboat.dev/tier' = 'prod' and status->>'state' = 'PendingApproval'`)).map((r) => r.name as string);
      expect(pending).toHaveLength(1);
      const [approve, write] = await Promise.all([
        api.call('POST', `/v1/rollouts/${pending[0]}/approve?project=${P}`, {}, as('editor')),
        api.call('POST', '/v1/apply', { items: [app((proposed % 5) + 1)] }, as('editor')),
      ]);
      expect(write.status).toBe(200);
      expect([200, 409]).toContain(approve.status);
      // Whichever came first, prod still runs what some approval applied and one proposal waits (or none).
      const states = (await api.sql(`select status->>'state' as state from resources where kind = 'Rollout' and labels->>'tugboat.dev/tier' = 'prod' and status->>'state' = 'PendingApproval'`)).length;
      expect(states).toBeLessThanOrEqual(1);
    }
  });

  it('refuses what no one may write: a Rollout by hand, a changed Release, a tag for a digest, a component the app lacks, two policies for a tier', async () => {
    const byHand = await api.call('POST', '/v1/rollouts', { kind: 'Rollout', metadata: { name: 'x', project: P }, spec: {} });
    expect(byHand.status).toBe(403);
    expect(byHand.body.error.message).toContain('written by the API alone');
    const changed = await api.call('PUT', `/v1/releases/shop-web-r1?project=${P}`, { ...release('shop-web-r1', 7) });
    expect(changed.status).toBe(422);
    expect(changed.body.error.details).toEqual([expect.objectContaining({ path: 'spec', rule: 'immutable' })]);
    const tagged = await api.call('POST', '/v1/releases', { ...release('tagged', 1), spec: { ...release('tagged', 1).spec, image: 'ghcr.io/example/shop:latest' } });
    expect(tagged.status).toBe(422);
    expect(tagged.body.error.details[0]).toMatchObject({ path: 'spec.image', rule: 'pattern' });
    const other = await api.call('POST', '/v1/releases', { ...release('other', 1), spec: { ...release('other', 1).spec, component: 'api' } });
    expect(other.status).toBe(422);
    expect(other.body.error.details[0]).toMatchObject({ path: 'spec.component', rule: 'component' });
    // A Release rolls out through the Application: creating one asks the rights writing the Application asks.
    const narrow = await api.call('POST', '/v1/releases', release('shop-web-narrow', 8), as('releaser'));
    expect(narrow.status).toBe(403);
    expect(narrow.body.error.message).toContain('WorkloadInstance');
    const narrowApply = await api.call('POST', '/v1/apply', { items: [release('shop-web-narrow', 8)] }, as('releaser'));
    expect(narrowApply.status).toBe(403);
    const byHandChild = await api.call('PATCH', `/v1/workloadinstances/shop-web-prod?project=${P}`, { spec: { overrides: { replicas: 5 } } }, { token: tokens['editor']!, headers: { 'content-type': 'application/merge-patch+json' } });
    expect(byHandChild.status).toBe(409);
    expect(byHandChild.body.error.message).toContain('belongs to Application shop');
    const twice = await api.call('POST', '/v1/deliverypolicies', { kind: 'DeliveryPolicy', metadata: { name: 'prod-again' }, spec: { tier: 'prod', mode: 'automatic' } });
    expect(twice.status).toBe(409);
    expect(twice.body.error.details[0]).toMatchObject({ path: 'spec.tier', rule: 'unique' });
  });

  it('makes releases and rollouts belong to their Application (they go with it)', async () => {
    for (const path of [`/v1/releases/shop-web-r1?project=${P}`, `/v1/rollouts/shop-prod-1?project=${P}`]) {
      const object = await api.call('GET', path);
      expect(object.body.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Application', name: 'shop' })]);
    }
  });
});

describe('a tier’s rollout history is bounded', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ projects: ['hist'], rolloutHistoryLimit: 2 });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('keeps the newest decided rollouts of each tier, and a waiting one always', async () => {
    const edit = (replicas: number) => ({
      kind: 'Application',
      metadata: { name: 'web', project: 'hist' },
      spec: { targets: [{ clusters: [{ name: 'lab' }] }], workloads: [{ name: 'web', definitionRef: { name: 'shop' }, overrides: { replicas } }] },
    });
    const items = [platform[0]!, { kind: 'ClusterInstance', metadata: { name: 'lab' }, spec: { definitionRef: { name: 'local' }, kubeconfig: 'apiVersion: v1' } }, platform[3]!];
    expect((await api.call('POST', '/v1/apply', { items })).status).toBe(200);
    for (const replicas of [1, 2, 3, 4]) expect((await api.call('POST', '/v1/apply', { items: [edit(replicas)] })).status).toBe(200);
    const kept = async () => (await api.sql(`select name from resources where kind = 'Rollout' and project = 'hist' order by (spec->>'revision')::int`)).map((r) => r.name as string);
    expect(await kept()).toEqual(['web-default-3', 'web-default-4']);

    // An approval tier's waiting proposal is never pruned.
    expect((await api.call('POST', '/v1/apply', { items: [{ kind: 'DeliveryPolicy', metadata: { name: 'default' }, spec: { tier: 'default', mode: 'approval', approvers: { roles: ['admin'] } } }] })).status).toBe(200);
    expect((await api.call('POST', '/v1/apply', { items: [edit(5)] })).status).toBe(200);
    expect(await kept()).toEqual(['web-default-3', 'web-default-4', 'web-default-5']);
    expect((await api.call('POST', '/v1/rollouts/web-default-5/approve?project=hist')).status).toBe(200);
    expect((await api.call('POST', '/v1/apply', { items: [edit(1)] })).status).toBe(200);
    expect(await kept()).toEqual(['web-default-4', 'web-default-5', 'web-default-6']);
  });
});
