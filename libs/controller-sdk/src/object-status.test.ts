import { buildStatus, failedAtGeneration, sameStatus } from './object-status.js';

const at = (iso: string) => () => new Date(iso);

describe('buildStatus', () => {
  it('derives phase, observedGeneration and a Ready condition', () => {
    const status = buildStatus({
      current: {},
      generation: 3,
      update: { outputs: { endpoint: 'https://x' } },
      defaultPhase: 'Ready',
      defaultReason: 'Reconciled',
      now: at('2026-01-01T00:00:00.000Z'),
    });
    expect(status).toEqual({
      observedGeneration: 3,
      phase: 'Ready',
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Reconciled', message: '', lastTransitionTime: '2026-01-01T00:00:00.000Z', observedGeneration: 3 },
      ],
      outputs: { endpoint: 'https://x' },
    });
  });

  it('keeps lastTransitionTime while a condition holds, so the same outcome twice is the same status', () => {
    const first = buildStatus({ current: {}, generation: 1, update: {}, defaultPhase: 'Ready', defaultReason: 'Reconciled', now: at('2026-01-01T00:00:00.000Z') });
    const again = buildStatus({ current: first, generation: 1, update: {}, defaultPhase: 'Ready', defaultReason: 'Reconciled', now: at('2026-01-02T00:00:00.000Z') });
    expect(sameStatus(first, again)).toBe(true);

    const progressing = buildStatus({
      current: again,
      generation: 2,
      update: { message: 'waiting for the cluster' },
      defaultPhase: 'Progressing',
      defaultReason: 'Requeued',
      now: at('2026-01-03T00:00:00.000Z'),
    });
    expect(sameStatus(again, progressing)).toBe(false);
    expect(progressing.conditions?.[0]).toMatchObject({ status: 'False', reason: 'Requeued', message: 'waiting for the cluster', lastTransitionTime: '2026-01-03T00:00:00.000Z' });
  });

  it('merges extra conditions and fields, and lets a given Ready condition win', () => {
    const status = buildStatus({
      current: { outputs: { a: 1 }, conditions: [{ type: 'Synced', status: 'True' }] },
      generation: 5,
      update: { phase: 'Degraded', conditions: [{ type: 'Ready', status: 'Unknown', reason: 'Probing' }], fields: { definitionGeneration: 2 } },
      defaultPhase: 'Ready',
      defaultReason: 'Reconciled',
      now: at('2026-01-01T00:00:00.000Z'),
    });
    expect(status.phase).toBe('Degraded');
    expect(status.definitionGeneration).toBe(2);
    expect(status.outputs).toEqual({ a: 1 });
    expect(status.conditions?.map((c) => [c.type, c.status, c.observedGeneration])).toEqual([
      ['Ready', 'Unknown', 5],
      ['Synced', 'True', 5],
    ]);
  });

  it('recognises an object Failed at its current generation only', () => {
    expect(failedAtGeneration({ phase: 'Failed', observedGeneration: 2 }, 2)).toBe(true);
    expect(failedAtGeneration({ phase: 'Failed', observedGeneration: 2 }, 3)).toBe(false);
    expect(failedAtGeneration({ phase: 'Ready', observedGeneration: 2 }, 2)).toBe(false);
  });
});
