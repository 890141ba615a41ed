import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient, ObjectRef, WatchEvent } from '@tugboat/api-client';
import { isErrorCode, type Condition, type Resource } from '@tugboat/resource-model';
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
  /** How often to read the object when the API has no watch. */
  pollIntervalMs: number;
  signal?: AbortSignal;
  /** Told every state the object is seen in (`undefined`: gone), for a progress line. */
  onProgress?(object: Resource | undefined): void;
  /** Told when the wait polls because the API has no watch. */
  onFallback?(reason: string): void;
}

/**
 * Waits until the target holds, the object is Failed at its current generation, or the time is up.
 * It follows the object through `GET /v1/watch` (opened before the first read, so no change is
 * missed; the client resumes a broken stream, and a 410 opens a new one and reads again); an API
 * without a watch route is polled instead.
 * A condition counts only once the controller has observed the current generation, so a Ready
 * left over from before the last change does not end the wait.
 */
export async function waitFor(options: WaitForOptions): Promise<WaitResult> {
  const { client, ref, target } = options;
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal === undefined ? deadline : AbortSignal.any([options.signal, deadline]);
  const project = ref.project ?? '';
  let last: Resource | undefined;
  let seenVersion: string | undefined = '';
  let useWatch = true;

  const evaluate = (object: Resource | undefined): WaitResult | undefined => {
    const version = object?.metadata.resourceVersion;
    if (version !== seenVersion) {
      seenVersion = version;
      options.onProgress?.(object);
    }
    if (object === undefined) return target.type === 'delete' ? { outcome: 'met' } : { outcome: 'not-found' };
    last = object;
    if (target.type !== 'condition') return undefined;
    if (conditionHolds(object, target.condition, target.status)) return { outcome: 'met', object };
    const failure = failureOf(object);
    return failure === undefined ? undefined : { outcome: 'failed', object, reason: failure };
  };

  // Ends the open watch when the wait is over, also one that was never read from (the answer came
  // from the first read), so no connection outlives the command.
  const finished = new AbortController();
  const watchSignal = AbortSignal.any([signal, finished.signal]);
  try {
    for (;;) {
      let stream: AsyncIterable<WatchEvent> | undefined;
      if (useWatch) {
        try {
          stream = await client.watch({
            kinds: [ref.kind],
            ...(project === '' ? {} : { project }),
            reconnect: { initialDelayMs: Math.min(options.pollIntervalMs, 250) },
            signal: watchSignal,
          });
        } catch (error) {
          if (!isErrorCode(error, 'NotFound')) throw error;
          useWatch = false;
          options.onFallback?.('the API has no watch; polling');
        }
      }
      const result = evaluate(await client.get(ref, { signal }));
      if (result !== undefined) return result;
      if (stream === undefined) {
        await sleep(options.pollIntervalMs, undefined, { signal });
        continue;
      }
      try {
        for await (const event of stream) {
          if (event.key.name !== ref.name || event.key.project !== project) continue;
          const next = event.type === 'DELETED' ? undefined : (event.object ?? (await client.get(ref, { signal })));
          const outcome = evaluate(next);
          if (outcome !== undefined) return outcome;
        }
      } catch (error) {
        // The client resumes a broken watch by itself; one too far behind (410) is opened anew and
        // the object read again.
        if (signal.aborted || !isErrorCode(error, 'Gone')) throw error;
      }
      await sleep(Math.min(options.pollIntervalMs, 1_000), undefined, { signal });
    }
  } catch (error) {
    if (deadline.aborted && !options.signal?.aborted) return { outcome: 'timeout', object: last };
    throw error;
  } finally {
    finished.abort();
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
