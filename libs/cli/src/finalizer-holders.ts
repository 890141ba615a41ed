import type { ApiClient, ObjectRef } from '@tugboat/api-client';
import type { KindDefinition, Resource } from '@tugboat/resource-model';
import { formatAge } from './format-table.js';

/** A finalizer still on an object, the controller that owns it, and the last sign of that controller. */
export interface FinalizerHolder {
  finalizer: string;
  controller: string;
  /** The kinds this controller owns (by their definitions' `controller`), for the message. */
  kinds: string[];
  /** The newest event or revision on this object written by the controller, if any. */
  lastSeen?: { at: number; what: string };
}

/**
 * Who holds an object's deletion. A finalizer is named after the controller that owns it (the API
 * lets only the controller of that name remove it), so the owner is the finalizer's name.
 * The API keeps no heartbeat of controllers: the only sign of one that `tug` can read is what it
 * last wrote on this object (an event it recorded, a status or finalizer change in the history).
 */
export async function findFinalizerHolders(
  client: ApiClient,
  ref: ObjectRef,
  object: Resource,
  kinds: readonly KindDefinition[],
  signal: AbortSignal | undefined,
): Promise<FinalizerHolder[]> {
  const finalizers = object.metadata.finalizers;
  if (finalizers.length === 0) return [];
  const options = signal ? { signal } : {};
  // Either read may be gone (the row went meanwhile) or refused; the message is still useful without it.
  const [events, revisions] = await Promise.all([
    client.listEvents(ref, options).catch(() => []),
    client.revisions(ref, options).catch(() => []),
  ]);
  return finalizers.map((finalizer) => {
    const controller = finalizer;
    let lastSeen: FinalizerHolder['lastSeen'];
    const consider = (at: number, what: string) => {
      if (Number.isFinite(at) && (lastSeen === undefined || at > lastSeen.at)) lastSeen = { at, what };
    };
    for (const event of events) if (event.source === controller) consider(Date.parse(event.lastSeen), `event ${event.reason}`);
    for (const revision of revisions) if (revision.actor === controller) consider(Date.parse(revision.at), `${revision.cause} change`);
    return {
      finalizer,
      controller,
      kinds: kinds.filter((kind) => kind.controller === controller).map((kind) => kind.kind),
      ...(lastSeen === undefined ? {} : { lastSeen }),
    };
  });
}

/** One line per holder: which controller, and whether it has shown any sign of life on this object. */
export function describeHolder(holder: FinalizerHolder, now: number): string {
  const owns = holder.kinds.length > 0 ? ` (the controller of ${holder.kinds.join(', ')})` : '';
  const sign =
    holder.lastSeen === undefined
      ? `no sign of it on this object: it may not be running; waiting on it to tear down what it made and remove its finalizer`
      : `last seen on this object ${formatAge(Math.max(0, now - holder.lastSeen.at))} ago (${holder.lastSeen.what}); if it is running, it has not finished its teardown yet`;
  return `finalizer ${holder.finalizer}: owned by controller ${holder.controller}${owns}; ${sign}`;
}
