import type { ApiClient, ObjectRef } from '@tugboat/api-client';

export interface LeaseGuard {
  assertHeld(): void;
}

/**
 * The API client reconcile code sees: every call carries the reconcile's signal unless it brings
 * its own, and every write first checks the lease by the clock, so a replica that lost the
 * object (paused past its lease, cut off from the bus) stops before it writes.
 */
export function leaseGuardedApi(api: ApiClient, guard: LeaseGuard, signal: AbortSignal, onWritten: (ref: ObjectRef) => void = () => undefined): ApiClient {
  const withSignal = <O extends { signal?: AbortSignal }>(options: O | undefined): O => ({ ...options, signal: options?.signal ?? signal }) as O;
  const write = <T>(call: () => Promise<T>): Promise<T> => {
    try {
      guard.assertHeld();
    } catch (error) {
      return Promise.reject(error);
    }
    return call();
  };
  /** A write of one object: the read cache forgets it once written, so this reconcile's next read sees the write. */
  const writeOf = <T>(ref: ObjectRef, call: () => Promise<T>): Promise<T> =>
    write(call).finally(() => {
      onWritten(ref);
    });
  const refOf = (input: { kind: string; metadata: { project?: string; name: string } }): ObjectRef => ({ kind: input.kind, project: input.metadata.project ?? '', name: input.metadata.name });
  return {
    baseUrl: api.baseUrl,
    whoami: (options) => api.whoami(withSignal(options)),
    createToken: (input, options) => write(() => api.createToken(input, withSignal(options))),
    listTokens: (options) => api.listTokens(withSignal(options)),
    revokeToken: (name, options) => write(() => api.revokeToken(name, withSignal(options))),
    secretKeyStatus: (options) => api.secretKeyStatus(withSignal(options)),
    listAudit: (query, options) => api.listAudit(query, withSignal(options)),
    kinds: (options) => api.kinds(withSignal(options)),
    getKind: (kind, options) => api.getKind(kind, withSignal(options)),
    registerKind: (definition, options) => write(() => api.registerKind(definition, withSignal(options))),
    applyKind: (definition, options) => write(() => api.applyKind(definition, withSignal(options))),
    deleteKind: (kind, options) => write(() => api.deleteKind(kind, withSignal(options))),
    create: (input, options) => writeOf(refOf(input), () => api.create(input, withSignal(options))),
    get: (ref, options) => api.get(ref, withSignal(options)),
    getOrThrow: (ref, options) => api.getOrThrow(ref, withSignal(options)),
    list: (kind, options) => api.list(kind, withSignal(options)),
    listAll: (kind, options) => api.listAll(kind, withSignal(options)),
    replace: (input, options) => writeOf(refOf(input), () => api.replace(input, withSignal(options))),
    patch: (ref, patch, options) => writeOf(ref, () => api.patch(ref, patch, withSignal(options))),
    delete: (ref, options) => writeOf(ref, () => api.delete(ref, withSignal(options))),
    writeStatus: (ref, status, options) => writeOf(ref, () => api.writeStatus(ref, status, withSignal(options))),
    removeFinalizer: (ref, finalizer, options) => writeOf(ref, () => api.removeFinalizer(ref, finalizer, withSignal(options))),
    readSecrets: (ref, options) => api.readSecrets(ref, withSignal(options)),
    recordEvent: (ref, event, options) => write(() => api.recordEvent(ref, event, withSignal(options))),
    listEvents: (ref, options) => api.listEvents(ref, withSignal(options)),
    referrers: (ref, options) => api.referrers(ref, withSignal(options)),
    apply: (bundle, options) => write(() => api.apply(bundle, withSignal(options))),
    revisions: (ref, options) => api.revisions(ref, withSignal(options)),
    revision: (ref, revision, options) => api.revision(ref, revision, withSignal(options)),
    revisionDiff: (ref, range, options) => api.revisionDiff(ref, range, withSignal(options)),
    suspend: (ref, options) => write(() => api.suspend(ref, withSignal(options))),
    resume: (ref, options) => write(() => api.resume(ref, withSignal(options))),
    requestReconcile: (ref, options) => write(() => api.requestReconcile(ref, withSignal(options))),
    expandApplication: (ref, options) => write(() => api.expandApplication(ref, withSignal(options))),
    approveRollout: (ref, options) => write(() => api.approveRollout(ref, withSignal(options))),
    rejectRollout: (ref, options) => write(() => api.rejectRollout(ref, withSignal(options))),
    undoApplication: (ref, options) => write(() => api.undoApplication(ref, withSignal(options))),
    watch: (options) => api.watch(withSignal(options)),
  };
}
