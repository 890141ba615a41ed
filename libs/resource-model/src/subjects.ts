/**
 * NATS naming shared by the API's relay, the controller SDK and the watch fan-out.
 * Every name derives from one prefix so tests (and several installations) can share a server.
 *
 *   {prefix}.res.{Kind}.{project|_}.{name}      desired-state changes: create, spec, labels,
 *                                              finalizers, deletion requested, delete, operator
 *                                              controls, reconcile requests (every cause but status)
 *   {prefix}.status.{Kind}.{project|_}.{name}   status changes
 *   {prefix}.resync.{controller}.{Kind}.{project|_}.{name}   resync keys, per controller
 *   {prefix}.tokens.revoked                    core NATS (no stream): a token was revoked; every
 *                                              API replica drops it from its token cache
 *
 * The two change subjects let a consumer (one filter subject each, NATS 2.9) take only what it
 * needs: a kind's owner consumes `res` (its own status writes never wake it), a controller that
 * watches another kind's readiness consumes that kind's `status`. The events stream holds both;
 * the API's watch reads the whole stream.
 */
import type { ChangeCause, ResourceKey } from './resource.js';

export const DEFAULT_PREFIX = 'tugboat';

export interface StreamNames {
  prefix: string;
  /** JetStream stream holding change events (limits retention, max age). */
  eventsStream: string;
  /** JetStream stream for resync keys (limits retention, short max age). */
  resyncStream: string;
  /** JetStream stream for messages that could not be decoded. */
  deadLetterStream: string;
}

export function streamNames(prefix: string = DEFAULT_PREFIX): StreamNames {
  const upper = prefix.replace(/[^A-Za-z0-9_-]/g, '_').toUpperCase();
  return {
    prefix,
    eventsStream: `${upper}_EVENTS`,
    resyncStream: `${upper}_RESYNC`,
    deadLetterStream: `${upper}_DEADLETTER`,
  };
}

function projectToken(project: string): string {
  return project === '' ? '_' : project;
}

/** Which of the two change subjects an event goes on. */
export type ChangeChannel = 'res' | 'status';

export function changeChannel(cause: ChangeCause): ChangeChannel {
  return cause === 'status' ? 'status' : 'res';
}

/** The subject of a change event; the cause picks desired state (`res`) or `status`. */
export function eventSubject(prefix: string, key: ResourceKey, cause: ChangeCause): string {
  return `${prefix}.${changeChannel(cause)}.${key.kind}.${projectToken(key.project)}.${key.name}`;
}

/** A kind's desired-state changes: what its owner consumes. */
export function kindDesiredStateFilter(prefix: string, kind: string): string {
  return `${prefix}.res.${kind}.>`;
}

/** A kind's status changes: what a controller watching that kind consumes. */
export function kindStatusFilter(prefix: string, kind: string): string {
  return `${prefix}.status.${kind}.>`;
}

/** The subjects of the events stream (both channels). */
export function eventStreamSubjects(prefix: string): string[] {
  return [`${prefix}.res.>`, `${prefix}.status.>`];
}

export function resyncSubject(prefix: string, controller: string, key: ResourceKey): string {
  return `${prefix}.resync.${controller}.${key.kind}.${projectToken(key.project)}.${key.name}`;
}

export function resyncFilter(prefix: string, controller: string): string {
  return `${prefix}.resync.${controller}.>`;
}

export function deadLetterSubject(prefix: string, controller: string): string {
  return `${prefix}.dead.${controller}`;
}

/**
 * Core NATS, not JetStream: an API replica that revokes a token announces it here and every
 * replica forgets the token at once. A replica that misses it (disconnected) re-reads the token
 * within its cache lifetime anyway, so nothing needs keeping.
 */
export function tokenRevokedSubject(prefix: string): string {
  return `${prefix}.tokens.revoked`;
}
