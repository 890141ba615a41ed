import type { ApiClient } from '@tugboat/api-client';
import { isErrorCode, keyString, type Resource, type ResourceKey, type ResourceStatus } from '@tugboat/resource-model';
import type { Logger } from 'pino';
import type { AnyControllerDeclaration, ControllerDeclaration, ReconcileContext, ReconcileResult, StatusUpdate } from './define-controller.js';
import type { Lease, LeaseManager } from './lease-manager.js';
import { leaseGuardedApi } from './lease-guarded-api.js';
import { uncachedReads, type CachedReads, type ReadCache } from './read-cache.js';
import { buildStatus, failedAtGeneration, sameStatus } from './object-status.js';
import { jittered, retryDelayMs, type RetryDelayOptions } from './retry-delay.js';

export type ReconcileOutcome =
  /** reconcile returned done (status written if it changed) */
  | 'done'
  /** reconcile asked to be called again after a delay */
  | 'requeue'
  /** reconcile (or finalize) threw; retried with backoff */
  | 'error'
  /** a TerminalError: the object is Failed at this generation, no retries */
  | 'terminal'
  /** the lease was lost (or the runner stopped hard) before the reconcile could finish; nothing written after */
  | 'aborted'
  /** another replica holds the object; retried soon, without spending an attempt */
  | 'lease-busy'
  /** the status write met a newer resourceVersion; retried soon */
  | 'conflict'
  /** suspended, Failed at this generation, or deleting without this controller's finalizer */
  | 'skipped'
  /** the object no longer exists */
  | 'gone'
  /** finalize ran and the finalizer was removed */
  | 'finalized';

export type Disposition = { action: 'ack' } | { action: 'nak'; delayMs: number } | { action: 'term'; reason: string };

export interface ReconcileReport {
  key: ResourceKey;
  replicaId: string;
  outcome: ReconcileOutcome;
  disposition: Disposition;
  attempt: number;
  /** When the lease was taken and the reconcile began (for `lease-busy`, when it was refused). */
  startedAt: number;
  finishedAt: number;
  generation?: number;
  /** When the status write (or finalizer removal) returned, if one was made. */
  statusWrittenAt?: number;
  finalizerRemovedAt?: number;
  error?: unknown;
}

export interface ObjectReconcilerOptions {
  declaration: AnyControllerDeclaration;
  api: ApiClient;
  /** The controller's read cache; without one, `ctx.cache` reads from the API. */
  cache?: ReadCache;
  leases: LeaseManager;
  logger: Logger;
  replicaId: string;
  backoff?: RetryDelayOptions;
  /** Upper bound of the wait before retrying an object another replica holds. Default 1 s. */
  leaseBusyDelayMs?: number;
  /** Delay before retrying after a stale status write. Default 250 ms. */
  conflictDelayMs?: number;
  now?: () => number;
  random?: () => number;
}

export interface ReconcileRequest {
  /** An operator asked for this reconcile (`POST …/reconcile`): run it even for an object Failed at its generation. */
  force?: boolean;
  /**
   * A change of the object itself is delivered for the first time (it may be ahead of the read
   * cache's feed): read the object from the API, not from what the last status write left.
   */
  fresh?: boolean;
  /**
   * Called with the outcome in the same tick as the lease's release is sent, so the message's ack
   * (or nak) and the release leave in one write to the bus instead of one after the other's answer.
   */
  settle?: (disposition: Disposition) => void;
}

/** Runs one reconcile of one key under its lease and says what to do with the messages. */
export type ObjectReconciler = (key: ResourceKey, stopSignal: AbortSignal, request?: ReconcileRequest) => Promise<ReconcileReport>;

export function createObjectReconciler(options: ObjectReconcilerOptions): ObjectReconciler {
  const declaration = options.declaration as ControllerDeclaration;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const leaseBusyDelayMs = options.leaseBusyDelayMs ?? 1_000;
  const conflictDelayMs = options.conflictDelayMs ?? 250;
  const ack = { action: 'ack' } as const;
  const cache = options.cache;
  const reads: CachedReads = cache ?? uncachedReads(options.api);
  const nak = (delayMs: number): Disposition => ({ action: 'nak', delayMs: Math.max(0, Math.round(delayMs)) });

  return async function reconcileObject(key, stopSignal, request = {}) {
    const id = keyString(key);
    const startedAt = now();
    const acquired = await options.leases.acquire(id).catch((error: unknown) => ({ failed: error }));
    if ('failed' in acquired) {
      return { key, replicaId: options.replicaId, outcome: 'error', disposition: nak(retryDelayMs(1, { ...options.backoff, random })), attempt: 1, startedAt, finishedAt: now(), error: acquired.failed };
    }
    if (!acquired.held) {
      const delay = jittered(Math.min(Math.max(acquired.busyForMs, 50), leaseBusyDelayMs), random);
      return { key, replicaId: options.replicaId, outcome: 'lease-busy', disposition: nak(delay), attempt: 0, startedAt, finishedAt: now() };
    }
    // A reconcile starts once the lease is held: before that, another replica may still be finishing.
    return underLease(key, acquired.lease, stopSignal, now(), request);
  };

  async function underLease(key: ResourceKey, lease: Lease, stopSignal: AbortSignal, startedAt: number, request: ReconcileRequest): Promise<ReconcileReport> {
    const force = request.force === true;
    const fresh = request.fresh === true;
    const previousFailures = typeof lease.previous.failures === 'number' ? lease.previous.failures : 0;
    const attempt = previousFailures + 1;
    // Aborted when the lease is lost or the runner stops (linked by hand: AbortSignal.any costs more per reconcile).
    const linked = new AbortController();
    const signal = linked.signal;
    const abortWith = (source: AbortSignal) => () => linked.abort(source.reason);
    const onLeaseLost = abortWith(lease.signal);
    const onStop = abortWith(stopSignal);
    if (lease.signal.aborted) onLeaseLost();
    else if (stopSignal.aborted) onStop();
    lease.signal.addEventListener('abort', onLeaseLost, { once: true });
    stopSignal.addEventListener('abort', onStop, { once: true });
    const logger = options.logger.child({ object: keyString(key), kind: key.kind, project: key.project, name: key.name, attempt });
    const report: ReconcileReport = { key, replicaId: options.replicaId, outcome: 'done', disposition: ack, attempt, startedAt, finishedAt: startedAt };
    let failuresAfter = 0;
    const finish = (outcome: ReconcileOutcome, disposition: Disposition, error?: unknown): ReconcileReport => {
      report.outcome = outcome;
      report.disposition = disposition;
      if (error !== undefined) report.error = error;
      return report;
    };

    let obj: Resource | undefined;
    let remembered: Resource | undefined;
    try {
      // The object as stored: what this replica's last status write left, while the cache's feed
      // has seen no other change of it; else read from the API (and kept, where the cache keeps the
      // kind, for `ctx.cache` readers: a watch mapping its status changes, say).
      remembered = fresh ? undefined : cache?.remembered(key);
      obj = remembered ?? (cache === undefined ? await options.api.get(key, { signal }) : await cache.reload(key, { signal }));
      if (obj === undefined) return finish('gone', ack);
      const current = obj;
      report.generation = current.metadata.generation;
      if (current.metadata.suspended === true) {
        // Acked: `resume` is a change of its own and brings the object back.
        logger.info({ generation: current.metadata.generation, forced: force }, 'suspended: not reconciled until resumed');
        return finish('skipped', ack);
      }

      const update: StatusUpdate = {};
      const ctx = makeContext(key, lease, signal, logger, attempt, update);
      if (current.metadata.deletionRequestedAt !== null && current.metadata.deletionRequestedAt !== undefined) {
        if (!current.metadata.finalizers.includes(declaration.name)) return finish('skipped', ack);
        if (current.status?.phase !== 'Deleting') {
          const deleting = statusFor(current, { phase: 'Deleting' }, 'Deleting', 'Finalizing');
          const written = await writeStatus(key, current, deleting, lease, signal, report);
          if (!written) return finish('conflict', nak(jittered(conflictDelayMs, random)));
        }
        const result = declaration.finalize === undefined ? undefined : await declaration.finalize(ctx, current);
        const requeueMs = requeueOf(result);
        if (requeueMs !== undefined) return finish('requeue', nak(requeueMs));
        lease.assertHeld();
        cache?.forget(key);
        await options.api.removeFinalizer(key, declaration.name, { signal });
        report.finalizerRemovedAt = now();
        return finish('finalized', ack);
      }

      if (!force && failedAtGeneration(current.status, current.metadata.generation)) return finish('skipped', ack);

      const result = await declaration.reconcile(ctx, current);
      const requeueMs = requeueOf(result);
      const status =
        requeueMs === undefined
          ? statusFor(current, update, 'Ready', 'Reconciled')
          : statusFor(current, update, 'Progressing', 'Requeued');
      // Started from what the last status write left, an unchanged status is still sent: the API
      // writes nothing when it is what is stored, and answers 409 when the object moved on meanwhile
      // (another replica's write whose event has not reached this one yet).
      if (remembered !== undefined || !sameStatus(current.status, status)) {
        const written = await writeStatus(key, current, status, lease, signal, report);
        if (!written) return finish('conflict', nak(jittered(conflictDelayMs, random)));
      }
      return requeueMs === undefined ? finish('done', ack) : finish('requeue', nak(requeueMs));
    } catch (error) {
      if (lease.signal.aborted || stopSignal.aborted) {
        failuresAfter = previousFailures;
        logger.warn({ reason: String((signal.reason as Error | undefined)?.message ?? signal.reason) }, 'reconcile aborted');
        return finish('aborted', nak(stopSignal.aborted ? 0 : jittered(leaseBusyDelayMs, random)), error);
      }
      if (isErrorCode(error, 'Terminal') && obj !== undefined) {
        const message = (error as Error).message;
        logger.error({ err: error }, 'reconcile failed terminally');
        const failed = statusFor(obj, { phase: 'Failed', reason: 'TerminalError', message }, 'Failed', 'TerminalError');
        try {
          const written = await writeStatus(key, obj, failed, lease, signal, report);
          if (!written) return finish('conflict', nak(jittered(conflictDelayMs, random)), error);
          await recordWarning(key, lease, signal, 'ReconcileFailed', message, logger);
        } catch (writeError) {
          if (lease.signal.aborted || stopSignal.aborted) {
            failuresAfter = previousFailures;
            return finish('aborted', nak(stopSignal.aborted ? 0 : jittered(leaseBusyDelayMs, random)), writeError);
          }
          failuresAfter = attempt;
          return finish('error', nak(retryDelayMs(attempt, { ...options.backoff, random })), writeError);
        }
        return finish('terminal', { action: 'term', reason: message }, error);
      }
      failuresAfter = attempt;
      const delayMs = retryDelayMs(attempt, { ...options.backoff, random });
      logger.warn({ err: error, retryInMs: delayMs }, 'reconcile failed; retrying with backoff');
      await recordWarning(key, lease, signal, 'ReconcileError', (error as Error)?.message ?? String(error), logger);
      return finish('error', nak(delayMs), error);
    } finally {
      report.finishedAt = now();
      lease.signal.removeEventListener('abort', onLeaseLost);
      stopSignal.removeEventListener('abort', onStop);
      const released = lease.release({ failures: failuresAfter });
      request.settle?.(report.disposition);
      await released;
    }
  }

  function statusFor(obj: Resource, update: StatusUpdate, defaultPhase: 'Ready' | 'Progressing' | 'Failed' | 'Deleting', defaultReason: string): ResourceStatus {
    return buildStatus({
      current: obj.status,
      generation: obj.metadata.generation,
      update,
      defaultPhase,
      defaultReason,
      now: () => new Date(now()),
    });
  }

  /** False when the stored object moved on (409): the caller requeues instead of failing. */
  async function writeStatus(key: ResourceKey, obj: Resource, status: ResourceStatus, lease: Lease, signal: AbortSignal, report: ReconcileReport): Promise<boolean> {
    lease.assertHeld();
    const write = cache?.writing(key);
    try {
      const written = await options.api.writeStatus(key, status, { resourceVersion: obj.metadata.resourceVersion, signal });
      write?.done(written);
      report.statusWrittenAt = now();
      return true;
    } catch (error) {
      // A conflict: the object moved on (the next reconcile reads it); anything else: unknown.
      write?.failed();
      if (isErrorCode(error, 'Conflict')) return false;
      throw error;
    }
  }

  async function recordWarning(key: ResourceKey, lease: Lease, signal: AbortSignal, reason: string, message: string, logger: Logger): Promise<void> {
    if (!lease.isHeld()) return;
    await options.api.recordEvent(key, { type: 'Warning', reason, message }, { signal }).catch((error: unknown) => {
      logger.warn({ err: error }, 'could not record event');
    });
  }

  function makeContext(key: ResourceKey, lease: Lease, signal: AbortSignal, logger: Logger, attempt: number, update: StatusUpdate): ReconcileContext {
    const api = leaseGuardedApi(options.api, lease, signal, (ref) => cache?.changed({ kind: ref.kind, project: ref.project ?? '', name: ref.name }));
    return {
      api,
      cache: {
        get: (ref, readOptions) => reads.get(ref, { signal: readOptions?.signal ?? signal }),
        list: (kind, readOptions) => reads.list(kind, { signal: readOptions?.signal ?? signal }),
        mayExist: (ref, readOptions) => reads.mayExist(ref, { signal: readOptions?.signal ?? signal }),
      },
      logger,
      signal,
      attempt,
      replicaId: options.replicaId,
      controller: declaration.name,
      events: {
        async record(type, reason, message) {
          await api.recordEvent(key, { type, reason, message });
        },
      },
      setStatus(next) {
        Object.assign(update, {
          ...next,
          fields: next.fields === undefined ? update.fields : { ...update.fields, ...next.fields },
        });
      },
      assertLeaseHeld: () => lease.assertHeld(),
    };
  }
}

function requeueOf(result: ReconcileResult): number | undefined {
  if (result !== undefined && result !== null && 'requeueAfterMs' in result) return Math.max(0, result.requeueAfterMs);
  return undefined;
}
