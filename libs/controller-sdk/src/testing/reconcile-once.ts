import type { ApiClient } from '@tugboat/api-client';
import { keyOf, type Resource, type ResourceStatus } from '@tugboat/resource-model';
import { pino, type Logger } from 'pino';
import type { ControllerDeclaration } from '../define-controller.js';
import type { LeaseManager } from '../lease-manager.js';
import { createObjectReconciler, type ReconcileReport } from '../object-reconciler.js';
import { createInMemoryLeaseManager } from './in-memory-leases.js';

export interface ReconcileOnceOptions {
  /** Defaults to a fake API seeded with nothing; pass the one holding `obj`. */
  api: ApiClient;
  leases?: LeaseManager;
  logger?: Logger;
  replicaId?: string;
  signal?: AbortSignal;
}

export interface ReconcileOnceResult<Spec, Status> {
  report: ReconcileReport;
  /** The object as stored after the reconcile; `undefined` if it is gone. */
  object: Resource<Spec, Status> | undefined;
}

/**
 * Runs exactly what a replica runs for one key — lease, read, reconcile or finalize, status,
 * finalizer — once, and reports the outcome and the disposition the message would get.
 */
export async function reconcileOnce<Spec, Status extends ResourceStatus>(
  declaration: ControllerDeclaration<Spec, Status>,
  obj: Pick<Resource<Spec, Status>, 'kind' | 'metadata'>,
  options: ReconcileOnceOptions,
): Promise<ReconcileOnceResult<Spec, Status>> {
  const reconcile = createObjectReconciler({
    declaration: declaration as unknown as ControllerDeclaration,
    api: options.api,
    leases: options.leases ?? createInMemoryLeaseManager(),
    logger: options.logger ?? pino({ level: 'silent' }),
    replicaId: options.replicaId ?? 'test',
  });
  const key = keyOf(obj as Resource);
  const report = await reconcile(key, options.signal ?? new AbortController().signal);
  const object = await options.api.get<Spec, Status>(key);
  return { report, object };
}
