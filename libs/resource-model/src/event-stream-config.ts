/**
 * The one definition of the events stream's configuration, used by the API (which owns the stream:
 * it creates it and brings it to its configuration at every start) and by the controller SDK
 * (which only creates it, with these defaults, when it starts before any API, and never changes
 * an existing one). Field names and values are JetStream's `StreamConfig`, so the API and the SDK
 * hand this object to their JetStream client as it is; this package stays free of NATS.
 */
import { eventStreamSubjects, streamNames } from './subjects.js';

const NANOS_PER_MS = 1_000_000;

export const EVENT_STREAM_DEFAULTS = {
  /** How long events stay in the stream: 24 h. */
  maxAgeMs: 24 * 60 * 60 * 1000,
  /** Window in which a repeated `Nats-Msg-Id` is dropped: 2 min. */
  duplicateWindowMs: 2 * 60 * 1000,
} as const;

export interface EventStreamSettings {
  prefix: string;
  /** Default `EVENT_STREAM_DEFAULTS.maxAgeMs`. */
  maxAgeMs?: number;
  /** Most messages kept (the oldest go first). Default: no limit. */
  maxMsgs?: number;
  /** Default `EVENT_STREAM_DEFAULTS.duplicateWindowMs`; never longer than the maximum age. */
  duplicateWindowMs?: number;
}

export interface EventStreamConfig {
  name: string;
  subjects: string[];
  retention: 'limits';
  storage: 'file';
  discard: 'old';
  max_age: number;
  max_msgs: number;
  duplicate_window: number;
  num_replicas: number;
}

/** Limits retention with a maximum age (several controllers read the same subjects), file storage. */
export function eventStreamConfig(settings: EventStreamSettings): EventStreamConfig {
  const maxAgeMs = settings.maxAgeMs ?? EVENT_STREAM_DEFAULTS.maxAgeMs;
  return {
    name: streamNames(settings.prefix).eventsStream,
    subjects: eventStreamSubjects(settings.prefix),
    retention: 'limits',
    storage: 'file',
    discard: 'old',
    max_age: maxAgeMs * NANOS_PER_MS,
    max_msgs: settings.maxMsgs ?? -1,
    // The server refuses a duplicate window longer than the maximum age.
    duplicate_window: Math.min(settings.duplicateWindowMs ?? EVENT_STREAM_DEFAULTS.duplicateWindowMs, maxAgeMs) * NANOS_PER_MS,
    num_replicas: 1,
  };
}
