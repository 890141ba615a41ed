import type { ApiClient } from '@tugboat/api-client';
import {
  InputError,
  isErrorCode,
  isDnsLabel,
  type ChangeEvent,
  type Condition,
  type EventType,
  type Phase,
  type Resource,
  type ResourceKey,
  type ResourceStatus,
  declaredReferencePath,
} from '@tugboat/resource-model';
import type { Logger } from 'pino';
import type { CachedReads, CacheSpec } from './read-cache.js';

export type { EventType };

/** Keys of the base status the SDK fills in or that are named fields of `StatusUpdate`. */
type BaseStatusKey = 'observedGeneration' | 'phase' | 'conditions' | 'outputs';

/** A status type's own named fields (not the base ones, not an index signature). */
export type StatusFields<Status> = {
  [K in keyof Status as K extends BaseStatusKey ? never : string extends K ? never : number extends K ? never : K]?: Status[K];
};

/**
 * What reconcile code may say about the object; the SDK adds `observedGeneration` and `Ready`.
 * Typed by the controller's `Status`: `outputs` and `fields` take its types, and a status without
 * an index signature refuses fields it does not declare.
 */
export interface StatusUpdate<Status extends ResourceStatus = ResourceStatus> {
  /** Defaults to `Ready` when reconcile is done, `Progressing` when it asks to be requeued. */
  phase?: Phase;
  /** Reason and message of the `Ready` condition the SDK derives from the phase. */
  reason?: string;
  message?: string;
  /** Further conditions; a `Ready` condition here replaces the derived one. */
  conditions?: Condition[];
  outputs?: Status['outputs'];
  /** Kind-specific fields (e.g. `definitionGeneration`), merged into the status. */
  fields?: StatusFields<Status> & (string extends keyof Status ? Record<string, unknown> : unknown);
}

export interface ReconcileContext<Status extends ResourceStatus = ResourceStatus> {
  /** The API client; writes through it check the lease first and carry `signal`. */
  api: ApiClient;
  /**
   * Reads of the kinds declared in `cache`, answered from memory and kept current by their change
   * events (other kinds are read from the API). Pass `signal`. Never change what it returns.
   */
  cache: CachedReads;
  /** Carries the object's key, the controller, the replica and the attempt on every line. */
  logger: Logger;
  /** Aborted when the lease on the object is lost or the runner stops hard. Pass it down. */
  signal: AbortSignal;
  /** 1 on the first try; counts failures in a row (waiting for a lease does not count). */
  attempt: number;
  replicaId: string;
  controller: string;
  events: { record(type: EventType, reason: string, message: string): Promise<void> };
  /** Accumulates the status the SDK writes when reconcile returns (only if it changed). */
  setStatus(update: StatusUpdate<Status>): void;
  /**
   * Throws unless the lease is still held by the clock, not only by the signal (after a process
   * pause the abort may not have run yet). Call it right before a side effect outside Tugboat.
   */
  assertLeaseHeld(): void;
}

/** `void` or `{ done: true }` acks; `{ requeueAfterMs }` checks again after that delay. */
export type ReconcileResult = void | undefined | { done: true } | { requeueAfterMs: number };

export interface MapContext {
  api: ApiClient;
  /** The controller's read cache (see `ReconcileContext.cache`). */
  cache: CachedReads;
  logger: Logger;
  signal: AbortSignal;
  /** The kind the controller owns. */
  owns: string;
}

export interface WatchSpec {
  kind: string;
  /**
   * Which changes of the watched kind wake the owned objects: its `status` (the default: a
   * dependent waits on what the watched kind's owner reports), or its desired state (`spec`:
   * create, spec, labels, deletion), for a kind no controller acts on and reports, such as a
   * definition its instances are rendered from.
   */
  on?: 'status' | 'spec';
  /** Maps a change of a watched object to the owned objects to reconcile. */
  map(event: ChangeEvent, ctx: MapContext): Promise<ResourceKey[]> | ResourceKey[];
}

export interface ControllerSpec<Spec = Record<string, unknown>, Status extends ResourceStatus = ResourceStatus> {
  /** Also the finalizer name and the identity the API knows the controller by. */
  name: string;
  owns: string;
  watches?: WatchSpec[];
  /**
   * Kinds read through `ctx.cache` (a kind name, or `{ kind, on: 'spec' }` to be kept current by
   * desired-state changes only, when only labels and spec are read): each replica follows their
   * change events and answers reads from memory. Declarations of one controller share one cache.
   */
  cache?: Array<string | CacheSpec>;
  reconcile(ctx: ReconcileContext<Status>, obj: Resource<Spec, Status>): Promise<ReconcileResult> | ReconcileResult;
  /** Tears down what reconcile made; the SDK removes the finalizer after it returns. */
  finalize?(ctx: ReconcileContext<Status>, obj: Resource<Spec, Status>): Promise<ReconcileResult> | ReconcileResult;
  /** Objects reconciled at once by one replica. Default 4. */
  concurrency?: number;
  /** Every owned object is re-enqueued this often (and at start). Default 10 minutes. */
  resyncEveryMs?: number;
}

export interface ControllerDeclaration<Spec = Record<string, unknown>, Status extends ResourceStatus = ResourceStatus>
  extends Required<Pick<ControllerSpec<Spec, Status>, 'name' | 'owns' | 'concurrency' | 'resyncEveryMs'>> {
  readonly watches: readonly WatchSpec[];
  readonly cache: readonly CacheSpec[];
  reconcile: ControllerSpec<Spec, Status>['reconcile'];
  finalize?: ControllerSpec<Spec, Status>['finalize'];
}

/**
 * A declaration of any spec and status types: what the runner takes. It hands each declaration
 * the objects of the kind it owns, so the declaration's own types hold inside its reconcile.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any spec/status shape, checked at defineController
export type AnyControllerDeclaration = ControllerDeclaration<any, any>;

const KIND_PATTERN = /^[A-Z][A-Za-z0-9]*$/;

/** Validates and freezes a controller declaration; nothing runs until it is given to a runner. */
export function defineController<Spec = Record<string, unknown>, Status extends ResourceStatus = ResourceStatus>(
  spec: ControllerSpec<Spec, Status>,
): ControllerDeclaration<Spec, Status> {
  const fail = (path: string, rule: string, message: string): never => {
    throw new InputError(`${path}: ${message}`, { details: [{ path, rule }] });
  };
  if (!isDnsLabel(spec.name)) fail('name', 'dns-label', 'must be a DNS label (lower-case letters, digits, dashes)');
  if (!KIND_PATTERN.test(spec.owns)) fail('owns', 'kind', 'must be a PascalCase kind');
  if (typeof spec.reconcile !== 'function') fail('reconcile', 'required', 'must be a function');
  const concurrency = spec.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) fail('concurrency', 'minimum', 'must be an integer >= 1');
  const resyncEveryMs = spec.resyncEveryMs ?? 10 * 60_000;
  if (!Number.isFinite(resyncEveryMs) || resyncEveryMs < 1_000) fail('resyncEveryMs', 'minimum', 'must be >= 1000');
  const watches = spec.watches ?? [];
  const seen = new Set<string>([spec.owns]);
  watches.forEach((watch, index) => {
    if (!KIND_PATTERN.test(watch.kind)) fail(`watches[${index}].kind`, 'kind', 'must be a PascalCase kind');
    if (seen.has(watch.kind)) fail(`watches[${index}].kind`, 'unique', `${watch.kind} is owned or watched already`);
    if (typeof watch.map !== 'function') fail(`watches[${index}].map`, 'required', 'must be a function');
    if (watch.on !== undefined && watch.on !== 'status' && watch.on !== 'spec') fail(`watches[${index}].on`, 'enum', 'must be "status" or "spec"');
    seen.add(watch.kind);
  });
  const cached = new Set<string>();
  const cache = (spec.cache ?? []).map((entry, index): CacheSpec => {
    const cacheSpec = typeof entry === 'string' ? { kind: entry } : entry;
    if (cacheSpec === null || typeof cacheSpec !== 'object' || !KIND_PATTERN.test(cacheSpec.kind)) fail(`cache[${index}].kind`, 'kind', 'must be a PascalCase kind');
    if (cacheSpec.on !== undefined && cacheSpec.on !== 'all' && cacheSpec.on !== 'spec') fail(`cache[${index}].on`, 'enum', 'must be "all" or "spec"');
    if (cached.has(cacheSpec.kind)) fail(`cache[${index}].kind`, 'unique', `${cacheSpec.kind} is cached already`);
    cached.add(cacheSpec.kind);
    return Object.freeze({ kind: cacheSpec.kind, on: cacheSpec.on ?? 'all' });
  });
  return Object.freeze({
    name: spec.name,
    owns: spec.owns,
    watches: Object.freeze([...watches]),
    cache: Object.freeze(cache),
    reconcile: spec.reconcile,
    finalize: spec.finalize,
    concurrency,
    resyncEveryMs,
  });
}

/**
 * Maps a change of a watched object to the owned objects whose `spec.<path>` points at it,
 * through the API's `/referrers` route, e.g. `dependentsOf('clusterRef')`, or
 * `dependentsOf('databases[].ref')` for a reference in each item of an array.
 */
export function dependentsOf(path: string): WatchSpec['map'] {
  const wanted = new Set([path, `spec.${path}`, `spec.${path}.name`, `${path}.name`]);
  return async (event, ctx) => {
    const ref = { kind: event.kind, project: event.project, name: event.name };
    // A watched object that is gone has no referrers left to wake.
    const referrers = await ctx.api.referrers(ref, { signal: ctx.signal }).catch((error: unknown) => {
      if (isErrorCode(error, 'NotFound')) return [];
      throw error;
    });
    return referrers
      .filter((referrer) => referrer.kind === ctx.owns && wanted.has(declaredReferencePath(referrer.path)))
      .map((referrer) => ({ kind: referrer.kind, project: referrer.project, name: referrer.name }));
  };
}
