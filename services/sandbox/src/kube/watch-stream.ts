/**
 * `?watch=true`: newline-delimited `{type, object}` events, headers flushed at once, resumption
 * from `resourceVersion` through the cluster's bounded history (410 Expired beyond it), label and
 * field selectors with enter/leave semantics, periodic bookmarks, `timeoutSeconds`, and the
 * `sendInitialEvents` stream client-go's watch-list uses.
 */
import type { ServerResponse } from 'node:http';
import type { KubeCluster, StoredEvent } from './kube-cluster.js';
import { failureStatus } from './kube-status.js';
import type { KubeObject } from './object-rules.js';
import { groupVersionOf, storageKeyOf, type ResourceType } from './resource-table.js';
import type { FieldSelector, LabelSelector } from './selectors.js';

export interface WatchRequest {
  cluster: KubeCluster;
  type: ResourceType;
  namespace: string | undefined;
  labels: LabelSelector;
  fields: FieldSelector;
  resourceVersion: string | undefined;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  timeoutSeconds: number | undefined;
  bookmarkIntervalMs: number;
  /** Turns a stored object into what this request should see (its version, or a Table row). */
  present: (object: KubeObject) => unknown;
}

/** Streams until the client goes away or the timeout ends it; returns a function that ends it now. */
export function serveWatch(res: ServerResponse, watch: WatchRequest): () => void {
  const { cluster, type } = watch;
  const storageKey = storageKeyOf(type);
  const matches = (object: KubeObject) =>
    (watch.namespace === undefined || object.metadata.namespace === watch.namespace) && watch.labels(object.metadata.labels) && watch.fields(object);

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();

  let ended = false;
  const send = (eventType: string, object: unknown) => {
    if (!ended) res.write(`${JSON.stringify({ type: eventType, object })}\n`);
  };
  const bookmark = (annotations?: Record<string, string>) =>
    send('BOOKMARK', {
      kind: type.kind,
      apiVersion: groupVersionOf(type),
      metadata: { resourceVersion: String(cluster.currentResourceVersion()), ...(annotations ? { annotations } : {}) },
    });

  const deliver = (event: StoredEvent) => {
    if (event.storageKey !== storageKey) return;
    const now = event.type === 'DELETED' ? false : matches(event.object);
    const before = event.type === 'ADDED' ? false : event.previous ? matches(event.previous) : event.type === 'DELETED' && matches(event.object);
    if (event.type === 'DELETED') {
      if (before || matches(event.object)) send('DELETED', watch.present(event.object));
    } else if (now && before) {
      send('MODIFIED', watch.present(event.object));
    } else if (now) {
      send('ADDED', watch.present(event.object));
    } else if (before) {
      send('DELETED', watch.present(event.object));
    }
  };

  let unsubscribe: () => void = () => undefined;
  let bookmarkTimer: NodeJS.Timeout | undefined;
  const timeoutTimer = setTimeout(() => end(), (watch.timeoutSeconds ?? 1800) * 1000);
  timeoutTimer.unref();
  const end = () => {
    if (ended) return;
    ended = true;
    unsubscribe();
    if (bookmarkTimer) clearInterval(bookmarkTimer);
    clearTimeout(timeoutTimer);
    res.end();
  };
  // The response's 'close' means the client went away (a request's 'close' can come as soon as its body is read).
  res.on('close', end);

  const since = watch.resourceVersion;
  if (watch.sendInitialEvents || since === undefined || since === '' || since === '0') {
    for (const object of cluster.list(type, watch.namespace)) if (matches(object)) send('ADDED', watch.present(object));
    if (watch.sendInitialEvents) bookmark({ 'k8s.io/initial-events-end': 'true' });
  } else {
    const from = Number(since);
    const replay = Number.isInteger(from) && from >= 0 ? cluster.eventsSince(from) : undefined;
    if (replay === undefined) {
      const message = Number.isInteger(from) ? `too old resource version: ${from} (${cluster.currentResourceVersion()})` : `invalid resource version: ${since}`;
      send('ERROR', failureStatus(410, 'Expired', message));
      end();
      return end;
    }
    for (const event of replay) deliver(event);
  }
  unsubscribe = cluster.subscribe(deliver);
  if (watch.allowBookmarks) {
    bookmarkTimer = setInterval(() => bookmark(), watch.bookmarkIntervalMs);
    bookmarkTimer.unref();
  }
  return end;
}
