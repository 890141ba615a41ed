import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient, WatchEventType } from '@tugboat/api-client';
import { isErrorCode, keyString, NotFoundError, type Resource } from '@tugboat/resource-model';

export interface ResourceChange {
  type: WatchEventType;
  /** The object after the change; for `DELETED`, the last one seen. */
  object: Resource;
}

export interface FollowResourcesOptions {
  client: ApiClient;
  /** Any of the kind's names; `kindName` is what the watch filters on. */
  kind: string;
  project?: string;
  labelSelector?: string;
  /** Only what this predicate accepts is followed (a name, a selector); an object that stops matching is reported `DELETED`. */
  matches(object: Resource): boolean;
  /** The first list (already filtered). */
  onSnapshot(items: readonly Resource[]): void;
  onChange(change: ResourceChange): void;
  /** Ends the follow (normally: the user's Ctrl-C). */
  signal: AbortSignal;
  /** Pause before a re-list or a new first connection; the first delay of the client's reconnects. Default 1 s. */
  retryDelayMs?: number;
  /** Told when the kind is listed again or the API could not be reached, for a diagnostic line. */
  onResync?(reason: string): void;
}

/**
 * Lists, then follows the changes through `GET /v1/watch` from the list's cursor until the signal
 * ends it: a stream the server closes or cuts off is resumed from the last cursor (by the client),
 * and a cursor the server no longer keeps (410) makes it list again and report what changed in
 * between.
 */
export async function followResources(options: FollowResourcesOptions): Promise<void> {
  const { client, signal } = options;
  const known = new Map<string, Resource>();
  const keyOf = (object: { kind: string; metadata: { project: string; name: string } } | Resource) =>
    keyString({ kind: object.kind, project: object.metadata.project, name: object.metadata.name });

  const list = async (): Promise<{ items: Resource[]; cursor: string | undefined }> => {
    const items: Resource[] = [];
    let cursor: string | undefined;
    let next: string | undefined;
    do {
      const page = await client.list(options.kind, {
        ...(options.project === undefined ? {} : { project: options.project }),
        ...(options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector }),
        ...(next === undefined ? {} : { continue: next }),
        signal,
      });
      // The first page's cursor: every change after the list began is then still delivered.
      cursor ??= page.cursor;
      items.push(...page.items.filter(options.matches));
      next = page.continue;
    } while (next !== undefined);
    return { items, cursor };
  };

  try {
    const first = await list();
    for (const object of first.items) known.set(keyOf(object), object);
    options.onSnapshot(first.items);
    let cursor = first.cursor;

    for (;;) {
      try {
        // The client resumes a broken, ended or cut-off stream from its last id by itself.
        const stream = await client.watch({
          kinds: [options.kind],
          ...(options.project === undefined ? {} : { project: options.project }),
          ...(cursor === undefined ? {} : { cursor }),
          reconnect: { initialDelayMs: options.retryDelayMs ?? 250, maxDelayMs: 5_000 },
          signal,
        });
        for await (const event of stream) {
          if (event.cursor !== undefined) cursor = event.cursor;
          const key = keyString(event.key);
          const before = known.get(key);
          if (event.type === 'DELETED' || event.object === undefined) {
            if (before === undefined) continue;
            known.delete(key);
            options.onChange({ type: 'DELETED', object: before });
            continue;
          }
          // A change older than what the list showed (the list was read after it) is not news.
          if (before !== undefined && Number(before.metadata.resourceVersion) >= Number(event.object.metadata.resourceVersion)) continue;
          if (!options.matches(event.object)) {
            if (before === undefined) continue;
            known.delete(key);
            options.onChange({ type: 'DELETED', object: before });
            continue;
          }
          known.set(key, event.object);
          options.onChange({ type: before === undefined ? 'ADDED' : 'MODIFIED', object: event.object });
        }
      } catch (error) {
        if (signal.aborted) return;
        if (isErrorCode(error, 'Gone')) {
          options.onResync?.('the watch cursor is too old; listing again');
          const again = await list();
          const seen = new Set<string>();
          for (const object of again.items) {
            const key = keyOf(object);
            seen.add(key);
            const before = known.get(key);
            known.set(key, object);
            if (before === undefined) options.onChange({ type: 'ADDED', object });
            else if (before.metadata.resourceVersion !== object.metadata.resourceVersion) options.onChange({ type: 'MODIFIED', object });
          }
          for (const [key, object] of known) {
            if (seen.has(key)) continue;
            known.delete(key);
            options.onChange({ type: 'DELETED', object });
          }
          cursor = again.cursor;
          // Then the pause below: a server that keeps answering 410 is not hammered.
        } else if (isErrorCode(error, 'NotFound')) {
          throw new NotFoundError(`this API does not serve GET /v1/watch, so -w cannot follow changes (${(error as Error).message})`, {
            details: [{ path: '--watch', rule: 'unsupported' }],
          });
        } else if (isErrorCode(error, 'Unavailable')) {
          // The first connection failed (the API is away): try again after the pause.
          options.onResync?.(`${(error as Error).message}; trying again`);
        } else {
          throw error;
        }
      }
      await sleep(options.retryDelayMs ?? 1_000, undefined, { signal });
    }
  } catch (error) {
    if (signal.aborted) return;
    throw error;
  }
}
