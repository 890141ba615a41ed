import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient, ObjectRef } from '@tugboat/api-client';
import type { Condition, Resource } from '@tugboat/resource-model';
import { UsageError } from './usage-error.js';

/** What `--for` asks: a condition with a status (`condition=Ready`, `condition=Ready=False`) or deletion. */
export type WaitTarget = { type: 'condition'; condition: string; status: Condition['status'] } | { type: 'delete' };

export function parseWaitTarget(text: string): WaitTarget {
  if (text === 'delete') return { type: 'delete' };
  const match = /^condition=([A-Za-z][A-Za-z0-9]*)(?:=(True|False|Unknown))?$/i.exec(text);
  if (match === null) {
    throw new UsageError(`--for: "${text}" is not condition=TYPE[=True|False|Unknown] or delete`, [{ path: '--for', rule: 'format' }]);
  }
  const status = (match[2] ?? 'True').toLowerCase();
  return { type: 'condition', condition: match[1]!, status: status === 'true' ? 'True' : status === 'false' ? 'False' : 'Unknown' };
}

export type WaitResult =
  | { outcome: 'met'; object?: Resource }
  | { outcome: 'failed'; object: Resource; reason: string }
  | { outcome: 'not-found' }
  | { outcome: 'timeout'; object?: Resource };

export interface WaitForOptions {
  client: ApiClient;
  ref: ObjectRef;
  target: WaitTarget;
  timeoutMs: number;
  pollIntervalMs: number;
  signal?: AbortSignal;
  now?: () => number;
}

/**
 * Polls the object until the target holds, the object is Failed at its current generation, or the
 * time is up. A condition counts only once the controller has observed the current generation, so
 * a Ready left over from before the last change does not end the wait.
 */
export async function waitFor(options: WaitForOptions): Promise<WaitResult> {
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  let last: Resource | undefined;
  for (;;) {
    const object = await options.client.get(options.ref, { signal: options.signal });
    if (object === undefined) return options.target.type === 'delete' ? { outcome: 'met' } : { outcome: 'not-found' };
    last = object;
    if (options.target.type === 'condition') {
      if (conditionHolds(object, options.target.condition, options.target.status)) return { outcome: 'met', object };
      const failure = failureOf(object);
      if (failure !== undefined) return { outcome: 'failed', object, reason: failure };
    }
    const remaining = deadline - now();
    if (remaining <= 0) return { outcome: 'timeout', object: last };
    await sleep(Math.min(options.pollIntervalMs, remaining), undefined, { signal: options.signal });
  }
}

export function conditionHolds(object: Resource, type: string, status: Condition['status']): boolean {
  const generation = object.metadata.generation;
  const observed = object.status?.observedGeneration;
  if (observed !== undefined && observed < generation) return false;
  const condition = object.status?.conditions?.find((candidate) => candidate.type.toLowerCase() === type.toLowerCase());
  if (condition === undefined || condition.status !== status) return false;
  return condition.observedGeneration === undefined || condition.observedGeneration >= generation;
}

/** The reason an object is Failed at its current generation, or `undefined`. */
export function failureOf(object: Resource): string | undefined {
  const status = object.status;
  if (status?.phase !== 'Failed') return undefined;
  if (status.observedGeneration !== undefined && status.observedGeneration < object.metadata.generation) return undefined;
  const ready = status.conditions?.find((condition) => condition.type === 'Ready');
  const parts = [ready?.reason, ready?.message].filter((part): part is string => typeof part === 'string' && part !== '');
  return parts.length > 0 ? parts.join(': ') : 'no reason given';
}

/** One line about where the object is, for timeout messages. */
export function describeProgress(object: Resource | undefined): string {
  if (object === undefined) return 'the object was never read';
  const status = object.status ?? {};
  const conditions = (status.conditions ?? []).map((condition) => `${condition.type}=${condition.status}${condition.reason ? ` (${condition.reason})` : ''}`);
  return [
    `phase ${status.phase ?? 'Pending'}`,
    `generation ${object.metadata.generation}, observed ${status.observedGeneration ?? 'none'}`,
    conditions.length > 0 ? `conditions ${conditions.join(', ')}` : 'no conditions',
    object.metadata.finalizers.length > 0 ? `finalizers ${object.metadata.finalizers.join(', ')}` : undefined,
  ]
    .filter((part) => part !== undefined)
    .join('; ');
}
