/**
 * What a kind change needs to know about the objects of the kind: some of their names (to say
 * which ones block a delete) and every stored spec with its secrets opened (to check that a new
 * schema still accepts them). Reads run in the caller's transaction.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { keyString } from '@tugboat/resource-model';
import type { Database, SealedSecret } from './database-schema.js';
import { cloneJson, setPath, type JsonObject } from './json-value.js';
import { storedSecretContext, type SecretBox } from './secret-box.js';

type Executor = Kysely<Database> | Transaction<Database>;

export interface StoredSpec {
  /** `Kind/project/name` (`Kind/_/name` for a platform-wide kind), as messages name an object. */
  name: string;
  spec: JsonObject;
}

export interface KindObjects {
  /** How many objects of `kind` exist, and the names of the first `limit`. */
  sample(executor: Executor, kind: string, limit: number): Promise<{ total: number; names: string[] }>;
  /** Every object's spec as it was written (secrets in clear), `pageSize` rows per query. */
  specs(executor: Executor, kind: string, pageSize?: number): AsyncIterable<StoredSpec>;
}

export function createKindObjects(options: { secrets: SecretBox }): KindObjects {
  const { secrets } = options;
  return {
    async sample(executor, kind, limit) {
      const rows = await executor.selectFrom('resources').select(['kind', 'project', 'name']).where('kind', '=', kind).orderBy('project').orderBy('name').limit(limit).execute();
      const counted = await executor.selectFrom('resources').select((eb) => eb.fn.countAll().as('n')).where('kind', '=', kind).executeTakeFirstOrThrow();
      return { total: Number(counted.n), names: rows.map((row) => keyString({ kind: row.kind, project: row.project, name: row.name })) };
    },
    specs(executor, kind, pageSize = 500) {
      return {
        async *[Symbol.asyncIterator]() {
          // In (project, name) order, so the objects a refusal names are the same each time.
          let after: { project: string; name: string } | undefined;
          for (;;) {
            let query = executor.selectFrom('resources').select(['uid', 'kind', 'project', 'name', 'spec', 'secrets']).where('kind', '=', kind);
            if (after !== undefined) query = query.where(sql<boolean>`(project, name) > (${after.project}, ${after.name})`);
            const rows = await query.orderBy('project').orderBy('name').limit(pageSize).execute();
            for (const row of rows) {
              const spec = cloneJson(row.spec);
              for (const [path, box] of Object.entries(row.secrets as Record<string, SealedSecret>)) setPath(spec, path, secrets.open(box, storedSecretContext(row.uid, path, box)));
              yield { name: keyString({ kind: row.kind, project: row.project, name: row.name }), spec };
            }
            if (rows.length < pageSize) return;
            const last = rows[rows.length - 1]!;
            after = { project: last.project, name: last.name };
          }
        },
      };
    },
  };
}
