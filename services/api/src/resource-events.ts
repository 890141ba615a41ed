/** Events of an object: what controllers report (with the object's secrets masked) and what operator controls record. */
import { sql, type Kysely, type Selectable } from 'kysely';
import { REDACTED } from '@tugboat/resource-model';
import type { Actor, AuditTrail } from './audit-trail.js';
import { mapDatabaseError } from './change-recorder.js';
import type { Database } from './database-schema.js';
import { findRowOrThrow } from './resource-reads.js';
import type { Tx } from './resource-row.js';
import type { ObjectEvent, ResourceStore } from './resource-store.js';
import type { SpecSealer } from './spec-sealer.js';

export interface ResourceEventsOptions {
  db: Kysely<Database>;
  sealer: SpecSealer;
  audit: AuditTrail;
}

export type ResourceEvents = Pick<ResourceStore, 'recordEvent' | 'listEvents'>;

export function createResourceEvents(options: ResourceEventsOptions): ResourceEvents {
  const { db, sealer, audit } = options;
  return {
    async recordEvent(kind, key, event, actor) {
      const row = await findRowOrThrow(db, kind, key);
      // Controllers write free text: never let a secret of this object through it.
      let message = event.message;
      for (const value of Object.values(sealer.openSecrets(row))) {
        if (typeof value === 'string' && value.length >= 4) message = message.split(value).join(REDACTED);
      }
      const now = new Date();
      try {
        const stored = await db.transaction().execute(async (tx) => {
          const written = await tx
            .insertInto('events')
            .values({ resource_uid: row.uid, type: event.type, reason: event.reason, message, first_seen: now, last_seen: now, source: actor.name })
            .onConflict((oc) =>
              oc.columns(['resource_uid', 'type', 'reason', 'message']).doUpdateSet({ count: sql`events.count + 1`, last_seen: now, source: actor.name }),
            )
            .returningAll()
            .executeTakeFirstOrThrow();
          // The message may quote what the object holds: the record names the event, not its text.
          await audit.record(tx, { action: 'writeEvent', kind: kind.definition.kind, project: key.project, name: key.name, status: 201, detail: { type: event.type, reason: event.reason } }, audit.contextOf(actor));
          return written;
        });
        return toEvent(stored);
      } catch (error) {
        throw mapDatabaseError(error);
      }
    },

    async listEvents(kind, key) {
      const row = await findRowOrThrow(db, kind, key);
      const rows = await db.selectFrom('events').selectAll().where('resource_uid', '=', row.uid).orderBy('last_seen', 'desc').orderBy('id', 'desc').execute();
      return rows.map(toEvent);
    },
  };
}

/** A control's event, in the control's transaction (a repeat raises the count). */
export async function insertEvent(tx: Tx, uid: string, event: Pick<ObjectEvent, 'type' | 'reason' | 'message'>, actor: Actor): Promise<void> {
  const now = new Date();
  await tx
    .insertInto('events')
    .values({ resource_uid: uid, type: event.type, reason: event.reason, message: event.message, first_seen: now, last_seen: now, source: actor.name })
    .onConflict((oc) => oc.columns(['resource_uid', 'type', 'reason', 'message']).doUpdateSet({ count: sql`events.count + 1`, last_seen: now, source: actor.name }))
    .execute();
}

function toEvent(row: Selectable<Database['events']>): ObjectEvent {
  return {
    type: row.type as ObjectEvent['type'],
    reason: row.reason,
    message: row.message,
    count: Number(row.count),
    firstSeen: new Date(row.first_seen).toISOString(),
    lastSeen: new Date(row.last_seen).toISOString(),
    source: row.source,
  };
}
