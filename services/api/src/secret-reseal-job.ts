/**
 * Moves stored secret values to the current key: values sealed with an older key (after a
 * rotation) and values a migration moved without re-sealing (`MOVED_SECRET_PATHS`, opened under
 * their old path) are sealed again with the current key under their own path.
 *
 * The object does not change, so nothing else does either: no resource_version, generation or
 * updated_at bump, no revision, no outbox row. Each row is written only if its resource_version and
 * its sealed values are still those that were read, so a write that landed in between (writers lock
 * the row) always wins; the value it wrote is taken at the next pass if it needs it. Several replicas
 * may run passes at once: the loser of a race updates nothing.
 */
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database, SealedSecret } from './database-schema.js';
import { secretContext, storedSecretContext, type SecretBox } from './secret-box.js';
import { createPeriodicPass } from './periodic-pass.js';

export interface SecretResealOptions {
  db: Kysely<Database>;
  secrets: SecretBox;
  logger: Logger;
  /** Rows read and written per statement. Default 200. */
  batchSize?: number;
  /** Between passes. Default 10 minutes; the first pass runs at start. */
  intervalMs?: number;
}

export interface SecretResealPass {
  /** Rows written with every value they held under a known key re-sealed. */
  rowsResealed: number;
  valuesResealed: number;
  /** Rows a concurrent write changed between the read and the write (left to the next pass). */
  rowsChanged: number;
  /** Values left as they were: sealed with a key this process was not given, or not openable. */
  valuesSkipped: number;
}

export interface SecretResealJob {
  /** One whole pass now (what a test or an operator waits on). */
  reseal(): Promise<SecretResealPass>;
  start(): void;
  stop(): Promise<void>;
}

export const SECRET_RESEAL_DEFAULTS = { batchSize: 200, intervalMs: 10 * 60_000 } as const;

interface StoredRow {
  uid: string;
  resource_version: string | number;
  secrets: Record<string, SealedSecret>;
}

export function createSecretResealJob(options: SecretResealOptions): SecretResealJob {
  const { db, secrets } = options;
  const logger = options.logger.child({ component: 'secret-reseal' });
  const batchSize = options.batchSize ?? SECRET_RESEAL_DEFAULTS.batchSize;
  const intervalMs = options.intervalMs ?? SECRET_RESEAL_DEFAULTS.intervalMs;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError('secret reseal batchSize: must be an integer >= 1');
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 10) throw new RangeError('secret reseal intervalMs: must be an integer >= 10');
  const known = new Set(secrets.keyIds);
  let stopped = false;

  /** The row's values with every one that needs it sealed again; `undefined` when none can be. */
  function resealRow(row: StoredRow, pass: SecretResealPass): { secrets: Record<string, SealedSecret>; count: number } | undefined {
    const next: Record<string, SealedSecret> = Object.create(null) as Record<string, SealedSecret>;
    let count = 0;
    for (const [path, box] of Object.entries(row.secrets)) {
      const stale = box.keyId !== secrets.currentKeyId || box.sealedAt !== undefined;
      if (!stale) {
        next[path] = box;
        continue;
      }
      if (!known.has(box.keyId)) {
        pass.valuesSkipped += 1;
        next[path] = box;
        continue;
      }
      try {
        next[path] = secrets.seal(secrets.open(box, storedSecretContext(row.uid, path, box)), secretContext(row.uid, path));
        count += 1;
      } catch (error) {
        pass.valuesSkipped += 1;
        next[path] = box;
        logger.warn({ uid: row.uid, path, keyId: box.keyId, err: String(error) }, 'stored secret value does not open; left as it is');
      }
    }
    return count > 0 ? { secrets: next, count } : undefined;
  }

  async function reseal(): Promise<SecretResealPass> {
    const pass: SecretResealPass = { rowsResealed: 0, valuesResealed: 0, rowsChanged: 0, valuesSkipped: 0 };
    // Keyset order by uid: a row left as it is (an unknown key) is not read again in this pass.
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      if (stopped) break;
      const { rows } = await sql<StoredRow>`
        select uid, resource_version, secrets from resources
        where uid > cast(${after} as uuid) and secrets <> '{}'::jsonb
          and exists (select 1 from jsonb_each(secrets) s where s.value->>'keyId' is distinct from ${secrets.currentKeyId} or s.value ? 'sealedAt')
        order by uid
        limit ${batchSize}`.execute(db);
      const updates: Array<{ row: StoredRow; secrets: Record<string, SealedSecret>; count: number }> = [];
      for (const row of rows) {
        const resealed = resealRow(row, pass);
        if (resealed) updates.push({ row, ...resealed });
      }
      if (updates.length > 0) {
        const values = updates.map(
          ({ row, secrets: next }) =>
            sql`(cast(${row.uid} as uuid), cast(${String(row.resource_version)} as bigint), cast(${JSON.stringify(row.secrets)} as jsonb), cast(${JSON.stringify(next)} as jsonb))`,
        );
        const { rows: written } = await sql<{ uid: string }>`
          update resources r set secrets = v.resealed
          from (values ${sql.join(values)}) as v (uid, resource_version, read, resealed)
          where r.uid = v.uid and r.resource_version = v.resource_version and r.secrets = v.read
          returning r.uid`.execute(db);
        const writtenUids = new Set(written.map((w) => w.uid));
        for (const update of updates) {
          if (writtenUids.has(update.row.uid)) {
            pass.rowsResealed += 1;
            pass.valuesResealed += update.count;
          } else pass.rowsChanged += 1;
        }
      }
      if (rows.length < batchSize) break;
      after = rows[rows.length - 1]!.uid;
    }
    if (pass.rowsResealed > 0 || pass.rowsChanged > 0 || pass.valuesSkipped > 0) logger.info({ ...pass, keyId: secrets.currentKeyId }, 'secret values re-sealed with the current key');
    return pass;
  }

  const periodic = createPeriodicPass({ run: reseal, intervalMs, logger, failure: 'secret re-seal pass failed; next pass as scheduled' });

  return {
    reseal,
    start() {
      stopped = false;
      periodic.start();
    },
    async stop() {
      stopped = true;
      await periodic.stop();
    },
  };
}
