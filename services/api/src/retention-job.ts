/**
 * Keeps history within bounds: per object at most `revisionsKeep` revisions (the newest) and
 * `eventsKeep` events (the most recently seen), and no event last seen longer ago than
 * `eventsMaxAgeMs`; and no audit record older than `auditMaxAgeMs` (a bound of its own: the audit
 * trail is kept by age, whatever happens to the revisions it speaks of). Published outbox rows need nothing here: the relay deletes them once JetStream
 * acknowledged them. Every replica may run it; the deletes are idempotent.
 */
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from './database-schema.js';
import { createPeriodicPass } from './periodic-pass.js';

export interface RetentionOptions {
  db: Kysely<Database>;
  logger: Logger;
  /** Default 50. */
  revisionsKeep?: number;
  /** Default 100. */
  eventsKeep?: number;
  /** Default 168 hours. */
  eventsMaxAgeMs?: number;
  /** Audit records older than this are removed. Default 90 days. */
  auditMaxAgeMs?: number;
  /** Between passes. Default 10 minutes; the first pass runs at start. */
  intervalMs?: number;
  /** The clock ages are measured on (tests move it). */
  now?: () => number;
}

export interface RetentionPass {
  revisionsDeleted: number;
  eventsDeleted: number;
  auditRecordsDeleted: number;
}

export interface RetentionJob {
  /** One pass now. */
  prune(): Promise<RetentionPass>;
  start(): void;
  stop(): Promise<void>;
}

export const RETENTION_DEFAULTS = { revisionsKeep: 50, eventsKeep: 100, eventsMaxAgeMs: 168 * 3_600_000, auditMaxAgeMs: 90 * 86_400_000, intervalMs: 10 * 60_000 } as const;

/** Audit records removed per statement: a long-neglected trail is pruned in short transactions. */
const AUDIT_PRUNE_BATCH = 10_000;

export function createRetentionJob(options: RetentionOptions): RetentionJob {
  const { db } = options;
  const logger = options.logger.child({ component: 'retention' });
  const revisionsKeep = options.revisionsKeep ?? RETENTION_DEFAULTS.revisionsKeep;
  const eventsKeep = options.eventsKeep ?? RETENTION_DEFAULTS.eventsKeep;
  const eventsMaxAgeMs = options.eventsMaxAgeMs ?? RETENTION_DEFAULTS.eventsMaxAgeMs;
  const auditMaxAgeMs = options.auditMaxAgeMs ?? RETENTION_DEFAULTS.auditMaxAgeMs;
  const intervalMs = options.intervalMs ?? RETENTION_DEFAULTS.intervalMs;
  const now = options.now ?? Date.now;
  for (const [name, value, minimum] of [
    ['revisionsKeep', revisionsKeep, 1],
    ['eventsKeep', eventsKeep, 1],
    ['eventsMaxAgeMs', eventsMaxAgeMs, 1],
    ['auditMaxAgeMs', auditMaxAgeMs, 1],
    ['intervalMs', intervalMs, 10],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < minimum) throw new RangeError(`retention ${name}: must be an integer >= ${minimum}`);
  }
  async function prune(): Promise<RetentionPass> {
    // Only desired-state revisions count towards the bound. Status revisions are no longer written;
    // any left from before carry no desired state and go.
    const revisions = await sql`
      delete from revisions r using (
        select id, cause, row_number() over (partition by resource_uid, cause = 'status' order by id desc) as n from revisions
      ) ranked
      where r.id = ranked.id and (ranked.cause = 'status' or ranked.n > ${revisionsKeep})`.execute(db);
    const byCount = await sql`
      delete from events e using (
        select id, row_number() over (partition by resource_uid order by last_seen desc, id desc) as n from events
      ) ranked
      where e.id = ranked.id and ranked.n > ${eventsKeep}`.execute(db);
    const byAge = await db.deleteFrom('events').where('last_seen', '<', new Date(now() - eventsMaxAgeMs)).executeTakeFirst();
    const auditBefore = new Date(now() - auditMaxAgeMs);
    let auditRecordsDeleted = 0;
    for (;;) {
      const { numDeletedRows } = await db
        .deleteFrom('audit_records')
        .where('id', 'in', (eb) => eb.selectFrom('audit_records').select('id').where('at', '<', auditBefore).limit(AUDIT_PRUNE_BATCH))
        .executeTakeFirst();
      auditRecordsDeleted += Number(numDeletedRows);
      if (Number(numDeletedRows) < AUDIT_PRUNE_BATCH) break;
    }
    const pass = {
      revisionsDeleted: Number(revisions.numAffectedRows ?? 0),
      eventsDeleted: Number(byCount.numAffectedRows ?? 0) + Number(byAge.numDeletedRows),
      auditRecordsDeleted,
    };
    if (pass.revisionsDeleted > 0 || pass.eventsDeleted > 0 || pass.auditRecordsDeleted > 0) logger.info(pass, 'pruned history');
    return pass;
  }

  const periodic = createPeriodicPass({ run: prune, intervalMs, logger, failure: 'retention pass failed; next pass as scheduled' });

  return { prune, start: periodic.start, stop: periodic.stop };
}
