import type { Resource } from '@tugboat/resource-model';
import { formatAge, formatResourceTable, formatTable } from './format-table.js';

const created = Date.parse('2026-01-01T00:00:00.000Z');

function resource(name: string, extra: { project?: string; generation?: number; status?: Resource['status']; deleting?: boolean } = {}): Resource {
  return {
    apiVersion: 'tugboat.dev/v1',
    kind: 'WorkloadInstance',
    metadata: {
      name,
      project: extra.project ?? '',
      uid: 'u',
      labels: {},
      generation: extra.generation ?? 1,
      resourceVersion: '1',
      finalizers: [],
      deletionRequestedAt: extra.deleting ? '2026-01-01T00:00:00.000Z' : null,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    },
    spec: {},
    status: extra.status ?? {},
  };
}

describe('formatTable', () => {
  it('aligns columns and trims trailing space', () => {
    expect(formatTable(['A', 'LONG'], [['xyz', ''], ['', 'b']])).toBe('A     LONG\nxyz\n      b\n');
  });
});

describe('formatResourceTable', () => {
  it('shows phase, the Ready condition, generations and age', () => {
    const table = formatResourceTable(
      [
        resource('web', { project: 'team-a', generation: 3, status: { phase: 'Progressing', observedGeneration: 2, conditions: [{ type: 'Ready', status: 'False' }] } }),
        resource('shared'),
        resource('old', { project: 'team-a', deleting: true, status: { phase: 'Ready', observedGeneration: 1 } }),
      ],
      created + 3 * 3_600_000,
    );
    expect(table).toBe(
      [
        'NAME     PROJECT   PHASE         READY   GEN   AGE',
        'web      team-a    Progressing   False   2/3   3h',
        'shared   -         Pending       -       1     3h',
        'old      team-a    Deleting      -       1     3h',
        '',
      ].join('\n'),
    );
  });

  it('says Suspended beside the last phase while reconciles are suspended', () => {
    const suspended = resource('paused', { project: 'team-a', status: { phase: 'Ready', conditions: [{ type: 'Ready', status: 'True' }] } });
    suspended.metadata.suspended = true;
    expect(formatResourceTable([suspended], created)).toContain('paused   team-a    Ready,Suspended   True    1     0s');
  });
});

describe('formatAge', () => {
  it.each([
    [0, '0s'],
    [119_000, '119s'],
    [120_000, '2m'],
    [7_199_000, '119m'],
    [7_200_000, '2h'],
    [47 * 3_600_000, '47h'],
    [49 * 3_600_000, '2d'],
    [-5_000, '0s'],
    [Number.NaN, '-'],
  ])('%d ms is %s', (ms, shown) => {
    expect(formatAge(ms)).toBe(shown);
  });
});
