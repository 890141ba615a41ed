/**
 * `GET /v1/watch?kinds=K1,K2&project=&cursor=N` (or `Last-Event-ID: N`): checks the query, asks
 * `authorize` for a list of each kind, and hands the response to the hub.
 */
import type { Request, Response } from 'express';
import { isDnsLabel, NotFoundError, type KindDefinition } from '@tugboat/resource-model';
import { authorize } from './authorize.js';
import type { Identity } from './identity.js';
import type { KindRegistry } from './kind-registry.js';
import { DetailCollector, inputError, projectFilterFromQuery } from './resource-input.js';
import type { WatchFilter, WatchHub } from './watch-hub.js';

export interface WatchRouteOptions {
  hub: WatchHub;
  kinds: Pick<KindRegistry, 'get'>;
}

export interface ParsedWatchQuery {
  filter: WatchFilter;
  cursor?: number;
  /** The kinds asked for; empty = every kind. */
  definitions: KindDefinition[];
}

const CURSOR_PATTERN = /^\d{1,15}$/;
/** More kinds than the API could ever serve is a mistake or an attack; either way, refused before any lookup. */
export const MAX_WATCH_KINDS = 256;

export async function parseWatchQuery(req: Pick<Request, 'query' | 'get'>, kinds: Pick<KindRegistry, 'get'>): Promise<ParsedWatchQuery> {
  const problems = new DetailCollector();
  const { kinds: kindsParam, project, cursor: cursorParam } = req.query;
  for (const name of Object.keys(req.query)) {
    if (!['kinds', 'project', 'cursor'].includes(name)) problems.add(name, 'additionalProperties', 'unknown query parameter (kinds, project, cursor)');
  }

  const definitions: KindDefinition[] = [];
  if (kindsParam !== undefined && typeof kindsParam !== 'string') problems.add('kinds', 'type', 'must be given once, as a comma-separated list');
  else if (kindsParam) {
    const names = [...new Set(kindsParam.split(',').map((k) => k.trim()))];
    if (names.length > MAX_WATCH_KINDS) throw inputError('kinds', 'maxItems', `at most ${MAX_WATCH_KINDS} kinds in one watch`, 400);
    for (const name of names) {
      if (!name) {
        problems.add('kinds', 'minLength', 'empty kind name');
        continue;
      }
      const kind = await kinds.get(name);
      // At the first unknown name: looking up the rest would only cost more (each miss may read the table).
      if (!kind) throw new NotFoundError(`kinds: unknown kind "${name}"`, { details: [{ path: 'kinds', rule: 'unknown-kind' }] });
      if (!definitions.includes(kind.definition)) definitions.push(kind.definition);
    }
  }

  let projectFilter: string | undefined;
  if (project !== undefined && typeof project !== 'string') problems.add('project', 'type', 'must be given once');
  else if (project) {
    if (!isDnsLabel(project)) problems.add('project', 'dns-label', 'must be a DNS label');
    else {
      try {
        // Same rule as a list: a platform-wide kind has no project.
        for (const definition of definitions) projectFilterFromQuery(definition, project);
        projectFilter = project;
      } catch (error) {
        problems.add('project', 'platform-scope', (error as Error).message.replace(/^project: /, ''));
      }
    }
  }

  // The header is what EventSource sends on its own reconnects, so it is newer than the URL's cursor.
  const cursorText = req.get('last-event-id') ?? cursorParam;
  let cursor: number | undefined;
  if (cursorText !== undefined && cursorText !== '') {
    if (typeof cursorText !== 'string' || !CURSOR_PATTERN.test(cursorText)) problems.add('cursor', 'pattern', 'must be a stream sequence (a non-negative integer) from an event id or a list');
    else cursor = Number(cursorText);
  }
  problems.throwIfAny(400);

  const filter: WatchFilter = {
    ...(definitions.length > 0 ? { kinds: new Set(definitions.map((d) => d.kind)) } : {}),
    ...(projectFilter !== undefined ? { project: projectFilter } : {}),
  };
  return { filter, definitions, ...(cursor !== undefined ? { cursor } : {}) };
}

export function createWatchRoute(options: WatchRouteOptions): (req: Request, res: Response, identity: Identity) => Promise<void> {
  return async (req, res, identity) => {
    const query = await parseWatchQuery(req, options.kinds);
    const project = query.filter.project;
    if (query.definitions.length === 0) authorize(identity, 'list', undefined, project);
    for (const definition of query.definitions) authorize(identity, 'list', definition, project);
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    await options.hub.serve(res, { filter: query.filter, signal: abort.signal, ...(query.cursor !== undefined ? { cursor: query.cursor } : {}) });
  };
}
