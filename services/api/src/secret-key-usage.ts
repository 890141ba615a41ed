/**
 * Which key ids seal the stored secret values, counted in the database. Sealed values live only in
 * `resources.secrets` (revisions, events and the outbox hold specs with secrets redacted).
 */
import { sql, type Kysely } from 'kysely';
import { InternalError, type SecretKeyStatus } from '@tugboat/resource-model';
import type { Database } from './database-schema.js';
import type { SecretBox } from './secret-box.js';

/** Stored sealed values per key id, one pass over the rows that hold any. */
export async function countSealedValuesByKey(db: Kysely<Database>): Promise<Map<string, number>> {
  const { rows } = await sql<{ key_id: string | null; n: string | number }>`
    select s.value->>'keyId' as key_id, count(*) as n
    from resources r cross join lateral jsonb_each(r.secrets) s
    where r.secrets <> '{}'::jsonb
    group by 1`.execute(db);
  return new Map(rows.map((row) => [row.key_id ?? '', Number(row.n)]));
}

export function secretKeyStatus(box: Pick<SecretBox, 'currentKeyId' | 'keyIds'>, counts: ReadonlyMap<string, number>): SecretKeyStatus {
  const known = new Set(box.keyIds);
  return {
    current: box.currentKeyId,
    keys: box.keyIds.map((id) => ({ id, current: id === box.currentKeyId, values: counts.get(id) ?? 0 })),
    unknown: [...counts]
      .filter(([id]) => !known.has(id))
      .map(([id, values]) => ({ id, values }))
      .sort((a, b) => a.id.localeCompare(b.id)),
  };
}

/**
 * Refuses to go on when stored values are sealed with a key this process was not given: they could
 * not be opened, and a key dropped too early is caught here, before anything needs it.
 */
export async function assertStoredSecretsOpenable(db: Kysely<Database>, box: Pick<SecretBox, 'currentKeyId' | 'keyIds'>): Promise<SecretKeyStatus> {
  const status = secretKeyStatus(box, await countSealedValuesByKey(db));
  if (status.unknown.length > 0) {
    const named = status.unknown.map((u) => `"${u.id}" (${u.values} value${u.values === 1 ? '' : 's'})`).join(', ');
    throw new InternalError(
      `stored secret values are sealed with key id${status.unknown.length === 1 ? '' : 's'} ${named} missing from TUGBOAT_SECRET_KEYS (given: ${box.keyIds.join(', ')}): ` +
        `add the key back after the current one until \`tug admin keys status\` shows 0 values on it`,
    );
  }
  return status;
}
