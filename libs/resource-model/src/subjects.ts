/**
 * NATS naming shared by the API's relay, the controller SDK and the watch fan-out.
 * Every name derives from one prefix so tests (and several installations) can share a server.
 *
 *   {prefix}.res.{Kind}.{project|_}.{name}   change events, one filter subject per kind
 *   {prefix}.resync.{controller}.{Kind}.{project|_}.{name}   resync keys, per controller
 */
import type { ResourceKey } from './resource.js';

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

export function eventSubject(prefix: string, key: ResourceKey): string {
  return `${prefix}.res.${key.kind}.${projectToken(key.project)}.${key.name}`;
}

export function kindEventsFilter(prefix: string, kind: string): string {
  return `${prefix}.res.${kind}.>`;
}

export function allEventsFilter(prefix: string): string {
  return `${prefix}.res.>`;
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
