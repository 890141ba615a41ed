/**
 * `GET /v1/watch?kinds=K1,K2&project=&cursor=N` (or `Last-Event-ID: N`): checks the query, asks
 * `authorize` for a watch of each kind, narrows the hub's filter to what the caller may read, and
 * hands the response to the hub.
 */
import type { Request, Response } from 'express';
import { ForbiddenError, isDnsLabel, NotFoundError, type KindDefinition } from '@tugboat/resource-model';
import { PROJECT_KIND, projectsWhere, type Principal } from './access.js';
import { authorize } from './authorize.js';
import type { KindRegistry } from './kind-registry.js';
import { DetailCollector, inputError, projectFilterFromQuery } from './resource-input.js';
import type { WatchFilter, WatchHub } from './watch-hub.js';

export interface WatchRouteOptions {
  hub: WatchHub;
  kinds: Pick<KindRegistry, 'get' | 'list'>;
  /** Token revocations (`IdentityStore.onForget`): a watch of a revoked token ends at once. */
  onForget?(listener: (token: string | undefined) => void): () => void;
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

export function createWatchRoute(options: WatchRouteOptions): (req: Request, res: Response, principal: Principal) => Promise<void> {
  return async (req, res, principal) => {
    const query = await parseWatchQuery(req, options.kinds);
    const project = query.filter.project;
    // A named project must be readable for every kind asked for (403 otherwise); without one, the
    // stream carries only what the caller may read, decided here once for the watch's life.
    if (project !== undefined) for (const definition of query.definitions) authorize(principal, 'watch', definition, project);
    const definitions = query.definitions.length > 0 ? query.definitions : await options.kinds.list();
    const scopes = new Map<string, 'all' | ReadonlySet<string>>();
    for (const definition of definitions) {
      const where = projectsWhere(principal, 'watch', definition);
      if (where === 'all' || where.length > 0) scopes.set(definition.kind, where === 'all' ? 'all' : new Set(where));
    }
    const unreadable = query.definitions.filter((definition) => !scopes.has(definition.kind)).map((definition) => definition.kind);
    if (unreadable.length > 0) throw new ForbiddenError(`${principal.identity.type} "${principal.identity.name}" may not watch ${unreadable.join(', ')}: none of its roles reads ${unreadable.length > 1 ? 'them' : 'it'}`);
    if (scopes.size === 0) throw new ForbiddenError(`${principal.identity.type} "${principal.identity.name}" may not watch: it has no role that reads any kind`);
    const everything = [...scopes.values()].every((scope) => scope === 'all') && (query.definitions.length > 0 || scopes.size === definitions.length);
    if (!everything) {
      query.filter.allows = ({ kind, project: eventProject, name }) => {
        const scope = scopes.get(kind);
        if (scope === undefined) return false;
        return scope === 'all' || scope.has(kind === PROJECT_KIND ? name : eventProject);
      };
      if (query.definitions.length === 0) query.filter.kinds = new Set(scopes.keys());
    }
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    // A revocation ends the watch; so does a bus reconnect (revocations may have been missed): the
    // client reconnects and is authenticated again.
    const revoked = new AbortController();
    const token = principal.identity.token;
    const unsubscribe = options.onForget?.((name) => {
      if (name === undefined) revoked.abort('the API lost revocations while its bus was away: reconnect');
      else if (name === token) revoked.abort(`token "${name}" was revoked`);
    });
    try {
      await options.hub.serve(res, { filter: query.filter, signal: abort.signal, revoked: revoked.signal, ...(query.cursor !== undefined ? { cursor: query.cursor } : {}) });
    } finally {
      unsubscribe?.();
    }
  };
}
