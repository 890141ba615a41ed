/**
 * What a watcher sees of one change event: its type and the object, read once through the store
 * (so redacted like every read) and shared by every client the hub sends it to.
 */
import type { ChangeEvent } from '@tugboat/resource-model';
import { sql, type Kysely } from 'kysely';
import type { Database } from './database-schema.js';
import type { KindRegistry } from './kind-registry.js';
import type { ResourceStore } from './resource-store.js';
import type { ChangeReader } from './watch-hub.js';

export interface WatchChangeReaderOptions {
  store: Pick<ResourceStore, 'get'>;
  kinds: Pick<KindRegistry, 'get'>;
  db: Kysely<Database>;
}

export function createWatchChangeReader(options: WatchChangeReaderOptions): ChangeReader {
  const { store, kinds, db } = options;

  /** A create is the object's first revision; a label change also has cause `spec` at generation 1. */
  async function isCreation(event: ChangeEvent): Promise<boolean> {
    if (event.cause !== 'spec' || event.generation !== 1) return false;
    const earlier = await db
      .selectFrom('revisions')
      .select('id')
      .where('resource_uid', '=', event.uid)
      .where(sql<boolean>`resource_version < ${event.resourceVersion}::bigint`)
      .limit(1)
      .executeTakeFirst();
    return earlier === undefined;
  }

  return async (event) => {
    const base = {
      cause: event.cause,
      key: { kind: event.kind, project: event.project, name: event.name, uid: event.uid },
      resourceVersion: event.resourceVersion,
    };
    if (event.cause === 'delete') return { type: 'DELETED', ...base };
    const kind = await kinds.get(event.kind);
    const found = kind ? await store.get(kind, { project: event.project, name: event.name }) : undefined;
    // Another object of the same name (deleted and re-created since) is not this change's object.
    const object = found?.metadata.uid === event.uid ? found : undefined;
    return { type: (await isCreation(event)) ? 'ADDED' : 'MODIFIED', ...base, ...(object ? { object } : {}) };
  };
}
