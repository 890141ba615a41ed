/**
 * `POST /v1/apply` and the revision history, in-process against real Postgres and NATS: reference
 * order, unchanged on repeat, field diffs with secrets redacted, dry runs that write nothing, and
 * blocked bundles that write nothing either.
 */
import { REDACTED } from '@tugboat/resource-model';
import pg from 'pg';
import { startTestApi, TEST_DATABASE_URL, waitUntil, type TestApi } from './api-test-harness.js';

const SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';

function bundle(options: { replicas?: number; tier?: string; secret?: string } = {}): string {
  // Dependents first on purpose: the API must put referenced objects first.
  return `
apiVersion: tugboat.dev/v1
kind: WorkloadInstance
metadata: { name: web, project: team-a, labels: { tier: ${options.tier ?? 'prod'} } }
spec:
  definitionRef: { name: web-def }
  clusterRef: { name: shared }
  overrides:
    replicas: ${options.replicas ?? 2}
---
kind: ClusterInstance
metadata: { name: shared }
spec: { definitionRef: { name: std }, accountRef: { name: main } }
---
kind: workloaddefinitions
metadata: { name: web-def }
spec: { container: { image: nginx:1.27 }, overridable: [replicas], maxReplicas: 10 }
---
kind: ClusterDefinition
metadata: { name: std }
spec: { provider: eks, allowedVersions: ['1.30'], allowedRegions: [eu-west-1], allowedNodeSizes: [m5.large] }
---
kind: AwsAccount
metadata: { name: main }
spec: { accountId: '123456789012', region: eu-west-1, accessKeyId: AKIAIOSFODNN7EXAMPLE, secretAccessKey: ${options.secret ?? SECRET} }
`;
}

describe('POST /v1/apply and revisions', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ projects: ['team-a', 'team-b', 'team-m', 'team-z', 'p', 'p-one', 'p-two'] });
  });
  afterAll(async () => {
    await api?.close();
  });

  async function apply(body: unknown, query = ''): ReturnType<TestApi['call']> {
    if (typeof body !== 'string') return api.call('POST', `/v1/apply${query}`, body);
    return api.call('POST', `/v1/apply${query}`, body, { headers: { 'content-type': 'application/yaml' } });
  }

  async function counts(): Promise<{ resources: number; revisions: number; outbox: number; published: number }> {
    const [row] = await api.sql(`select (select count(*) from resources)::int as resources, (select count(*) from revisions)::int as revisions,
      (select count(*) from outbox)::int as outbox`);
    return { ...row, published: api.events().length };
  }

  async function settled(): Promise<Awaited<ReturnType<typeof counts>>> {
    await waitUntil(async () => (await counts()).outbox === 0, 'the outbox to drain');
    const before = await counts();
    await waitUntil(() => api.events().length >= before.revisions, 'every change published');
    return counts();
  }

  it('creates a bundle given in reverse order in reference order, in one go', async () => {
    const answer = await apply(bundle());
    expect(answer.status).toBe(200);
    expect(answer.body.dryRun).toBe(false);
    // Each object after what it references; otherwise the bundle's order.
    expect(answer.body.results.map((r: { kind: string; action: string }) => `${r.kind}:${r.action}`)).toEqual([
      'WorkloadDefinition:created',
      'ClusterDefinition:created',
      'AwsAccount:created',
      'ClusterInstance:created',
      'WorkloadInstance:created',
    ]);
    // The database saw them in that order too.
    const order = await api.sql(`select kind from revisions where kind <> 'Project' order by id`);
    expect(order.map((r) => r.kind)).toEqual(['WorkloadDefinition', 'ClusterDefinition', 'AwsAccount', 'ClusterInstance', 'WorkloadInstance']);
    expect(JSON.stringify(answer.body)).not.toContain(SECRET);
    const account = await api.call('GET', '/v1/awsaccounts/main');
    expect(account.body.spec.secretAccessKey).toBe(REDACTED);
    expect((await api.waitForEvent((e) => e.event.kind === 'WorkloadInstance' && e.event.name === 'web')).event.actor).toBe('admin');
  });

  it('reports unchanged on a repeat and writes nothing', async () => {
    const before = await settled();
    const answer = await apply(bundle());
    expect(answer.status).toBe(200);
    expect(answer.body.results.every((r: { action: string }) => r.action === 'unchanged')).toBe(true);
    expect(answer.body.results.find((r: { kind: string }) => r.kind === 'WorkloadInstance').generation).toBe(1);
    expect(await counts()).toEqual(before);
  });

  it('plans a change in a dry run (diff, secrets redacted) and writes nothing, then applies it', async () => {
    const before = await settled();
    const sequence = (await api.sql(`select last_value::text as v from resource_version_seq`))[0].v;
    const changed = bundle({ replicas: 3, tier: 'canary', secret: 'a-new-secret-value-123' });

    const plan = await apply(changed, '?dryRun=true');
    expect(plan.status).toBe(200);
    expect(plan.body.dryRun).toBe(true);
    const web = plan.body.results.find((r: { kind: string }) => r.kind === 'WorkloadInstance');
    expect(web).toMatchObject({ project: 'team-a', name: 'web', action: 'updated', generation: 2 });
    expect(web.diff).toEqual([
      { path: 'metadata.labels.tier', op: 'replace', from: 'prod', to: 'canary' },
      { path: 'spec.overrides.replicas', op: 'replace', from: 2, to: 3 },
    ]);
    const account = plan.body.results.find((r: { kind: string }) => r.kind === 'AwsAccount');
    expect(account).toMatchObject({ action: 'updated', generation: 2, diff: [{ path: 'spec.secretAccessKey', op: 'replace', from: REDACTED, to: REDACTED }] });
    expect(JSON.stringify(plan.body)).not.toContain('a-new-secret-value-123');
    expect(plan.body.results.filter((r: { action: string }) => r.action === 'unchanged')).toHaveLength(3);
    // Nothing written: rows, revisions, outbox and stream are as before, and so is the object.
    expect(await counts()).toEqual(before);
    expect((await api.call('GET', '/v1/workloadinstances/web?project=team-a')).body.spec.overrides.replicas).toBe(2);

    const applied = await apply(changed);
    expect(applied.body.results.map((r: { action: string }) => r.action)).toEqual(plan.body.results.map((r: { action: string }) => r.action));
    expect(applied.body.results.find((r: { kind: string }) => r.kind === 'WorkloadInstance').diff).toEqual(web.diff);
    const read = await api.call('GET', '/v1/workloadinstances/web?project=team-a');
    expect(read.body.metadata).toMatchObject({ generation: 2, labels: { tier: 'canary' } });
    expect(read.body.spec.overrides.replicas).toBe(3);
    expect(Number((await api.sql(`select last_value::text as v from resource_version_seq`))[0].v)).toBeGreaterThan(Number(sequence));
  });

  it('answers 422 naming each object and field for an invalid bundle, and writes nothing', async () => {
    const before = await settled();
    const invalid = {
      items: [
        { kind: 'WorkloadInstance', metadata: { name: 'web', project: 'team-a' }, spec: { definitionRef: { name: 'web-def' }, clusterRef: { name: 'shared' }, overrides: { replicas: -1 } } },
        { kind: 'WorkloadInstance', metadata: { name: 'api', project: 'team-a' }, spec: { definitionRef: { name: 'web-def' }, clusterRef: { name: 'nowhere' } } },
        { kind: 'WorkloadInstance', metadata: { name: 'fine', project: 'team-a' }, spec: { definitionRef: { name: 'web-def' }, clusterRef: { name: 'shared' } } },
        { kind: 'Teapot', metadata: { name: 'x' }, spec: {} },
        { kind: 'ClusterDefinition', metadata: { name: 'Bad_Name' }, spec: {} },
      ],
    };
    const answer = await apply(invalid);
    expect(answer.status).toBe(422);
    const paths = answer.body.error.details.map((d: { path: string; rule: string }) => `${d.path} ${d.rule}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        'WorkloadInstance/team-a/web: spec.overrides.replicas minimum',
        'WorkloadInstance/team-a/api: spec.clusterRef.name reference',
        'Teapot/_/x: kind unknown-kind',
        'ClusterDefinition/_/Bad_Name: metadata.name dns-label',
      ]),
    );
    expect(paths.some((p: string) => p.startsWith('WorkloadInstance/team-a/fine'))).toBe(false);
    expect(answer.body.error.message).toContain('nothing was written');
    expect(await counts()).toEqual(before);
    expect((await api.call('GET', '/v1/workloadinstances/fine?project=team-a')).status).toBe(404);

    // The same bundle as a dry run: a 200 plan with what is blocked and why.
    const plan = await apply(invalid, '?dryRun=true');
    expect(plan.status).toBe(200);
    const byName = Object.fromEntries(plan.body.results.map((r: { name: string }) => [r.name, r]));
    expect(byName['web']).toMatchObject({ action: 'blocked', reasons: [{ path: 'spec.overrides.replicas', rule: 'minimum' }] });
    expect(byName['web'].reasons[0].message).toBe('must be >= 0');
    expect(byName['api']).toMatchObject({ action: 'blocked', reasons: [{ path: 'spec.clusterRef.name', rule: 'reference' }] });
    expect(byName['fine']).toMatchObject({ action: 'created', generation: 1 });
    expect(await counts()).toEqual(before);
  });

  // A dry run answered "unchanged" for the right value and "updated" for a wrong one: a free, unaudited
  // oracle for guessing a value no one may read back.
  it('answers a dry run the same whether a supplied secret value is the stored one or not', async () => {
    const known = 'a-known-secret-value-4242';
    const spec = (await api.call('GET', '/v1/awsaccounts/main')).body.spec;
    expect((await apply([{ kind: 'AwsAccount', metadata: { name: 'main' }, spec: { ...spec, secretAccessKey: known } }])).status).toBe(200);
    const current = (await api.call('GET', '/v1/awsaccounts/main')).body;
    const dryRun = async (secret: string) => {
      const plan = await apply([{ kind: 'AwsAccount', metadata: { name: 'main' }, spec: { ...current.spec, secretAccessKey: secret } }], '?dryRun=true');
      return plan.body.results;
    };
    const right = await dryRun(known);
    expect(right).toEqual(await dryRun('a-wrong-guess-0000000000'));
    expect(right).toMatchObject([{ action: 'updated', generation: current.metadata.generation + 1, diff: [{ path: 'spec.secretAccessKey', op: 'replace', from: REDACTED, to: REDACTED }] }]);
    // Given back as read ("<redacted>"), the value is kept and nothing changes.
    expect(await dryRun(REDACTED)).toMatchObject([{ action: 'unchanged' }]);
  });

  it('checks the bundle itself: format, duplicates, stale versions, the dryRun flag', async () => {
    const account = (await api.call('GET', '/v1/awsaccounts/main')).body;
    expect((await apply('kind: [unclosed')).body.error.details[0]).toMatchObject({ path: 'items[0]', rule: 'yaml' });
    const aliases = `a: &a [x, x, x, x, x, x, x, x, x]\n${Array.from({ length: 8 }, (_, i) => `${'bcdefghi'[i]}: &${'bcdefghi'[i]} [${Array(9).fill(`*${i === 0 ? 'a' : 'bcdefghi'[i - 1]}`).join(', ')}]`).join('\n')}\n`;
    expect((await apply(aliases)).body.error.details[0]).toMatchObject({ path: 'items[0]', rule: 'max-aliases' });
    const list = `kind: List\nitems:\n  - ${JSON.stringify({ kind: 'AwsAccount', metadata: { name: 'main' }, spec: account.spec })}\n`;
    expect((await apply(list, '?dryRun=true')).body.results).toMatchObject([{ kind: 'AwsAccount', name: 'main', action: 'unchanged' }]);
    expect((await apply({ items: [] })).body.error.details[0]).toMatchObject({ path: 'items', rule: 'minItems' });
    expect((await apply({ things: [] })).status).toBe(400);
    expect((await apply([], '?dryRun=maybe')).body.error.details[0]).toMatchObject({ path: 'dryRun', rule: 'enum' });
    expect((await api.call('POST', '/v1/apply', 'kind: X', { headers: { 'content-type': 'text/plain' } })).body.error.details[0]).toMatchObject({ path: 'body', rule: 'content-type' });
    const duplicate = await apply([account, account], '?dryRun=true');
    expect(duplicate.body.results.map((r: { action: string }) => r.action)).toEqual(['unchanged', 'blocked']);
    expect(duplicate.body.results[1].reasons[0]).toMatchObject({ path: 'metadata.name', rule: 'unique' });
    const stale = { ...account, metadata: { ...account.metadata, resourceVersion: '1' } };
    expect((await apply([stale])).body.error.details).toEqual([{ path: 'AwsAccount/_/main: metadata.resourceVersion', rule: 'stale' }]);
  });

  it('keeps revisions newest first, one by number, and diffs between two', async () => {
    const ref = '/v1/workloadinstances/web';
    const list = await api.call('GET', `${ref}/revisions?project=team-a`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((r: { generation: number; cause: string }) => `${r.generation}:${r.cause}`)).toEqual(['2:spec', '1:spec']);
    const [newest, oldest] = list.body.items;
    expect(newest).toMatchObject({ actor: 'admin', labels: { tier: 'canary' }, spec: { overrides: { replicas: 3 } } });
    expect(newest.revision).toBeGreaterThan(oldest.revision);

    const one = await api.call('GET', `${ref}/revisions/${oldest.revision}?project=team-a`);
    expect(one.body).toEqual(oldest);
    expect((await api.call('GET', `${ref}/revisions/999999?project=team-a`)).body.error.details[0]).toMatchObject({ path: 'revision', rule: 'not-found' });
    expect((await api.call('GET', `${ref}/revisions/latest?project=team-a`)).status).toBe(400);

    const diff = await api.call('GET', `${ref}/revisions/diff?project=team-a&from=${oldest.revision}`);
    expect(diff.body).toEqual({
      from: oldest.revision,
      to: newest.revision,
      diff: [
        { path: 'metadata.labels.tier', op: 'replace', from: 'prod', to: 'canary' },
        { path: 'spec.overrides.replicas', op: 'replace', from: 2, to: 3 },
      ],
    });
    const reverse = await api.call('GET', `${ref}/revisions/diff?project=team-a&from=${newest.revision}&to=${oldest.revision}`);
    expect(reverse.body.diff[1]).toEqual({ path: 'spec.overrides.replicas', op: 'replace', from: 3, to: 2 });
    expect((await api.call('GET', `${ref}/revisions/diff?project=team-a`)).body.error.details[0]).toMatchObject({ path: 'from', rule: 'type' });

    // Secrets stay redacted in history too.
    const accountHistory = await api.call('GET', '/v1/awsaccounts/main/revisions');
    expect(JSON.stringify(accountHistory.body)).not.toContain(SECRET);
    expect(accountHistory.body.items[0].spec.secretAccessKey).toBe(REDACTED);
  });
  it('writes a new object of a bundle in one statement (row, revision, outbox, audit) and takes one made meanwhile by another writer as an update', async () => {
    await settled();
    // Another writer's create of cd-b, not yet committed when the bundle looks its objects up.
    const other = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${api.schema}` });
    await other.connect();
    try {
      await other.query('begin');
      await other.query(
        `insert into resources (uid, kind, project, name, labels, spec, secrets, status, generation, resource_version, finalizers, created_at, updated_at)
         values (gen_random_uuid(), 'ClusterDefinition', '', 'cd-b', '{}', $1, '{}', '{}', 1, nextval('resource_version_seq'), '{}', now(), now())`,
        [JSON.stringify({ provider: 'eks', allowedVersions: ['1.29'], allowedRegions: ['eu-west-1'], allowedNodeSizes: ['m5.large'] })],
      );
      const definition = (name: string) => ({ kind: 'ClusterDefinition', metadata: { name }, spec: { provider: 'eks', allowedVersions: ['1.30'], allowedRegions: ['eu-west-1'], allowedNodeSizes: ['m5.large'] } });
      const answer = apply([definition('cd-a'), definition('cd-b')]);
      // The bundle's insert of cd-b waits on the other writer's row: only then does it commit.
      await waitUntil(async () => {
        const waiting = await api.sql(`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like '%insert into resources%'`);
        return waiting.length > 0;
      }, 'the bundle to wait on the other writer');
      await other.query('commit');
      const { status, body } = await answer;
      expect(status).toBe(200);
      expect(body.results.map((r: { name: string; action: string; generation: number }) => `${r.name}:${r.action}:${r.generation}`)).toEqual(['cd-a:created:1', 'cd-b:updated:2']);
    } finally {
      await other.end();
    }
    const rows = await api.sql(`select r.name, (select count(*) from revisions v where v.resource_uid = r.uid)::int as revisions,
      (select count(*) from audit_records a where a.kind = r.kind and a.name = r.name and a.action in ('create', 'update'))::int as audited
      from resources r where r.kind = 'ClusterDefinition' and r.name in ('cd-a', 'cd-b') order by r.name`);
    // cd-b's own insert wrote no revision: only the bundle's update did.
    expect(rows).toEqual([{ name: 'cd-a', revisions: 1, audited: 1 }, { name: 'cd-b', revisions: 1, audited: 1 }]);
    const [audit] = await api.sql(`select action, status, detail from audit_records where kind = 'ClusterDefinition' and name = 'cd-a'`);
    expect(audit).toEqual({ action: 'create', status: 201, detail: { via: 'apply' } });
    const created = await api.waitForEvent((e) => e.event.kind === 'ClusterDefinition' && e.event.name === 'cd-a');
    expect(created.event).toMatchObject({ cause: 'spec', generation: 1, actor: 'admin' });
  });
});
