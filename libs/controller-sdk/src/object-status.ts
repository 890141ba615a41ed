import type { Condition, Phase, ResourceStatus } from '@tugboat/resource-model';
import type { StatusUpdate } from './define-controller.js';

export interface StatusInput {
  current: ResourceStatus | undefined;
  generation: number;
  /** What reconcile asked for through `ctx.setStatus`, merged in call order. */
  update: StatusUpdate;
  /** The phase when the update names none (Ready after done, Progressing after a requeue …). */
  defaultPhase: Phase;
  /** Reason of the Ready condition when the update names none. */
  defaultReason: string;
  defaultMessage?: string;
  now: () => Date;
}

/**
 * The status the SDK writes after a reconcile: `observedGeneration`, the phase, a `Ready`
 * condition derived from it, outputs and extra fields. A condition whose status did not change
 * keeps its `lastTransitionTime`, so writing the same outcome twice yields an equal status.
 */
export function buildStatus(input: StatusInput): ResourceStatus {
  const current = input.current ?? {};
  const { update } = input;
  const phase = update.phase ?? input.defaultPhase;
  const ready: Condition = {
    type: 'Ready',
    status: phase === 'Ready' ? 'True' : 'False',
    reason: update.reason ?? input.defaultReason,
    message: update.message ?? input.defaultMessage ?? '',
  };
  const given = update.conditions ?? [];
  const byType = new Map<string, Condition>();
  for (const condition of current.conditions ?? []) byType.set(condition.type, condition);
  for (const condition of given) byType.set(condition.type, condition);
  if (!given.some((condition) => condition.type === 'Ready')) byType.set('Ready', ready);

  const previous = new Map((current.conditions ?? []).map((condition) => [condition.type, condition]));
  const conditions = [...byType.values()].map((condition): Condition => {
    const before = previous.get(condition.type);
    const lastTransitionTime =
      before !== undefined && before.status === condition.status && before.lastTransitionTime !== undefined
        ? before.lastTransitionTime
        : (condition.lastTransitionTime ?? input.now().toISOString());
    return { ...condition, lastTransitionTime, observedGeneration: input.generation };
  });
  conditions.sort((a, b) => (a.type === 'Ready' ? -1 : b.type === 'Ready' ? 1 : a.type.localeCompare(b.type)));

  const status: ResourceStatus = { ...current, ...update.fields, observedGeneration: input.generation, phase, conditions };
  const outputs = update.outputs ?? current.outputs;
  if (outputs === undefined) delete status.outputs;
  else status.outputs = outputs;
  return status;
}

/** Deep equality of two statuses, ignoring key order. */
export function sameStatus(a: ResourceStatus | undefined, b: ResourceStatus | undefined): boolean {
  return canonical(a ?? {}) === canonical(b ?? {});
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([x], [y]) => x.localeCompare(y)))
      : inner,
  );
}

/** Failed at its current generation: retried only after a spec change (or by an operator). */
export function failedAtGeneration(status: ResourceStatus | undefined, generation: number): boolean {
  return status?.phase === 'Failed' && status.observedGeneration === generation;
}
