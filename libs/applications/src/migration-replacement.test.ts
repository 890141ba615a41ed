import { isReadyNow, migrationOf, migrationStep, ONE_EXPANSION_MS, type WorkloadCopy } from './migration-replacement.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const LATER = T0 + 3_600_000;

const copy = (cluster: string, createdAt: number | undefined, extra: Partial<WorkloadCopy> = {}): WorkloadCopy => ({
  name: `shop-web-${cluster}`,
  component: 'web',
  cluster,
  tier: 'dev',
  ...(createdAt === undefined ? {} : { createdAt }),
  ready: false,
  ...extra,
});

describe('migrationOf', () => {
  it('takes a copy made after the leaving one as its replacement, and one not made yet', () => {
    expect(migrationOf(copy('dev1', T0), [copy('dev2', T0), copy('dev3', LATER)])).toEqual({ component: 'web', from: 'shop-web-dev1', fromCluster: 'dev1', to: 'shop-web-dev3', toCluster: 'dev3', ready: false });
    expect(migrationOf(copy('dev1', T0), [copy('dev3', undefined)])?.to).toBe('shop-web-dev3');
  });

  it('finds none when the copies were there beside it (the Application just leaves a cluster), or are of another component', () => {
    expect(migrationOf(copy('dev1', LATER), [copy('dev2', T0), copy('dev3', LATER)])).toBeUndefined();
    expect(migrationOf(copy('dev1', T0), [copy('dev3', LATER, { component: 'api', name: 'shop-api-dev3' })])).toBeUndefined();
  });

  it('takes copies made by the same expansion, a few milliseconds apart, for siblings', () => {
    expect(migrationOf(copy('dev1', T0), [copy('dev3', T0 + 40)])).toBeUndefined();
    expect(migrationOf(copy('dev1', T0), [copy('dev3', T0 + ONE_EXPANSION_MS)])?.to).toBe('shop-web-dev3');
  });

  it('prefers a replacement of the same tier, and says whether it is Ready', () => {
    const migration = migrationOf(copy('dev1', T0), [copy('a-prod', LATER, { tier: 'prod' }), copy('dev3', LATER, { ready: true })]);
    expect(migration).toMatchObject({ to: 'shop-web-dev3', ready: true });
    expect(migrationOf(copy('dev1', T0), [copy('a-prod', LATER, { tier: 'prod' })])?.to).toBe('shop-web-a-prod');
  });

  it('says the step in an operator’s words', () => {
    const migration = migrationOf(copy('dev1', T0), [copy('dev3', LATER)])!;
    expect(migrationStep(migration)).toBe('migrating web from cluster dev1 to dev3: waits for shop-web-dev3 to be Ready before removing shop-web-dev1');
    expect(migrationStep({ ...migration, ready: true })).toBe('migrated web from cluster dev1 to dev3: shop-web-dev3 is Ready, removing shop-web-dev1');
  });
});

describe('isReadyNow', () => {
  const ready = { type: 'Ready', status: 'True' as const, reason: 'Ready', message: '', lastTransitionTime: '' };
  it('needs phase Ready, the current generation observed and a True Ready condition', () => {
    expect(isReadyNow({ phase: 'Ready', observedGeneration: 2, conditions: [ready] }, 2)).toBe(true);
    expect(isReadyNow({ phase: 'Ready', observedGeneration: 1, conditions: [ready] }, 2)).toBe(false);
    expect(isReadyNow({ phase: 'Ready', conditions: [ready] }, 1)).toBe(false);
    expect(isReadyNow({ phase: 'Ready', observedGeneration: 1, conditions: [{ ...ready, status: 'False' }] }, 1)).toBe(false);
    expect(isReadyNow({ phase: 'Progressing', observedGeneration: 1, conditions: [ready] }, 1)).toBe(false);
    expect(isReadyNow({}, 1)).toBe(false);
  });
});
