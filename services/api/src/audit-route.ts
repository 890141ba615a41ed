/**
 * `GET /v1/audit?project=&identity=&kind=&action=&since=&until=&limit=&continue=`: checks the
 * query, asks `authorize` for `readAudit` (in the project asked for, if any), and answers a page
 * of the trail, newest first, of the projects the caller may read (a platform role: all; a
 * project admin: the projects it administers, and no record outside a project).
 */
import type { Request, Response } from 'express';
import type { AuditRecordList } from '@tugboat/resource-model';
import { parseAuditQuery, type AuditFilter, type AuditLog } from './audit-log.js';
import { administeredProjects, type Principal } from './access.js';
import { authorize } from './authorize.js';
import type { KindRegistry } from './kind-registry.js';

export interface AuditRouteOptions {
  log: AuditLog;
  kinds: Pick<KindRegistry, 'get'>;
  /**
   * The projects `principal` may read the trail of; `undefined` = all. Applied in the query.
   * Default: all for a platform role, else the projects the caller administers.
   */
  visibleProjects?(principal: Principal): readonly string[] | undefined;
}

function defaultVisibleProjects(principal: Principal): readonly string[] | undefined {
  if (principal.grants.platform !== undefined) return undefined;
  const projects = administeredProjects(principal);
  return projects === 'all' ? undefined : projects;
}

export function createAuditRoute(options: AuditRouteOptions): (req: Request, res: Response, principal: Principal) => Promise<void> {
  const visibleProjects = options.visibleProjects ?? defaultVisibleProjects;
  return async (req, res, principal) => {
    const filter: AuditFilter = parseAuditQuery(req.query as Record<string, unknown>);
    // Without a project, a project admin is let in and the query keeps to the projects it administers.
    authorize(principal, 'readAudit', undefined, filter.project);
    // Any name of a known kind (plural, short name) finds the records, which name the kind itself;
    // a kind since deleted is matched as given.
    if (filter.kind !== undefined) filter.kind = (await options.kinds.get(filter.kind))?.definition.kind ?? filter.kind;
    const projects = visibleProjects(principal);
    const page = await options.log.list({ ...filter, ...(projects ? { projects } : {}) });
    const answer: AuditRecordList = { items: page.items, metadata: page.continue ? { continue: page.continue } : {} };
    res.setHeader('cache-control', 'no-store');
    res.json(answer);
  };
}
