import { isReadyNow, migrationOf, migrationStep, type WorkloadCopy } from './migration-replacement.js';

const copy = (cluster: string, extra: Partial<WorkloadCopy> = {}): WorkloadCopy => ({ name: `shop-web-${cluster}`, component: 'web', cluster, tier: 'dev', ready: false, ...extra });

describe('migrationOf', () => {
  it('takes the copies the tier still wants as the replacement, naming the first that is not Ready', () => {
    expect(migrationOf(copy('dev1'), [copy('dev3')])).toEqual({ component: 'web', from: 'shop-web-dev1', fromCluster: 'dev1', to: 'shop-web-dev3', toCluster: 'dev3', ready: false });
    expect(migrationOf(copy('dev1'), [copy('dev2', { ready: true }), copy('dev3')])).toMatchObject({ to: 'shop-web-dev3', ready: false });
  });

  it('is ready once every copy the tier wants is Ready: then the leaving one goes (an Application just leaving a cluster goes at once)', () => {
    expect(migrationOf(copy('dev1'), [copy('dev2', { ready: true }), copy('dev3', { ready: true })])).toMatchObject({ to: 'shop-web-dev2', ready: true });
  });

  it('finds none when the tier keeps no copy of the component: other tiers and other components are no replacement', () => {
    expect(migrationOf(copy('dev1'), [copy('prod', { tier: 'prod' })])).toBeUndefined();
    expect(migrationOf(copy('dev1'), [copy('dev3', { component: 'api', name: 'shop-api-dev3' })])).toBeUndefined();
    expect(migrationOf(copy('dev1', { tier: undefined }), [copy('lab', { tier: undefined })])).toMatchObject({ to: 'shop-web-lab' });
  });

  it('says the step in an operator’s words', () => {
    const migration = migrationOf(copy('dev1'), [copy('dev3')])!;
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
