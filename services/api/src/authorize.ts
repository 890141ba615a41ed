/**
 * The one authorization hook: every route asks it before acting (the rules: `access.ts` and
 * docs/access-control.md). It throws `ForbiddenError` naming who, what and why; the routes turn a
 * refusal into 404 where the caller may not even read the object, so that a 403 never confirms an
 * object exists (`authorizeObject` in app.ts).
 */
import { ForbiddenError, type KindDefinition, type Verb } from '@tugboat/resource-model';
import { administers, can, PROJECT_KIND, type Principal } from './access.js';

export type Action =
  | Verb
  | 'writeStatus'
  | 'removeFinalizer'
  | 'forceRemoveFinalizer'
  | 'readSecrets'
  | 'writeEvent'
  | 'registerKind'
  | 'updateKind'
  | 'deleteKind'
  | 'createToken'
  | 'listTokens'
  | 'revokeToken'
  | 'readAudit'
  | 'readKeys';

export interface AuthorizationTarget {
  /** For `removeFinalizer`: which finalizer. */
  finalizer?: string;
  /** For `createToken`: the kind of token asked for (user tokens inherit memberships: platform admin only). */
  tokenType?: string;
}

/** The project an object's access is decided in: a `Project` object is its own project. */
export function accessProject(kind: KindDefinition, key: { project: string; name: string }): string {
  return kind.kind === PROJECT_KIND ? key.name : key.project;
}

/**
 * Throws `ForbiddenError` when `principal` may not do `action` (on `kind` in `project`, the access
 * project: see `accessProject`); returns otherwise.
 */
export function authorize(principal: Principal, action: Action, resourceKind: KindDefinition | undefined, project: string | undefined, target: AuthorizationTarget = {}): void {
  const { identity, grants } = principal;
  const platformAdmin = grants.platform === 'platform-admin';
  const controller = identity.type === 'controller' ? identity.controller : undefined;
  const deny = (why: string): never => {
    const where = project ? (resourceKind?.kind === PROJECT_KIND ? ` ${project}` : ` in project ${project}`) : '';
    throw new ForbiddenError(`${identity.type} "${identity.name}" may not ${action}${resourceKind ? ` ${resourceKind.kind}` : ''}${where}: ${why}`);
  };
  switch (action) {
    case 'get':
    case 'list':
    case 'watch':
    case 'create':
    case 'update':
    case 'delete':
    case 'operate':
      if (resourceKind?.writtenByApi && action !== 'get' && action !== 'list' && action !== 'watch') {
        deny(`${resourceKind.kind} objects are written by the API alone (an Application's expansion writes them; decide one with POST /v1/${resourceKind.plural}/{name}/approve or /reject)`);
      }
      if (!resourceKind) {
        if (!platformAdmin) deny('name the kinds');
        return;
      }
      if (!can(principal, action, resourceKind, project ?? '')) deny(whyNot(principal, action, resourceKind, project ?? ''));
      return;
    case 'registerKind':
    case 'updateKind':
    case 'deleteKind':
    case 'readKeys':
      if (!platformAdmin) deny('platform admin only');
      return;
    case 'createToken':
      if (platformAdmin) return;
      if (target.tokenType === 'user' || target.tokenType === 'controller') deny(`${target.tokenType} tokens are created by a platform admin`);
      if (project === undefined) return deny('only a platform admin creates a token without a project');
      if (!administers(principal, project)) deny(`needs the admin role in project ${project}`);
      return;
    case 'listTokens':
    case 'revokeToken':
    case 'readAudit':
      // Without a project the answer is narrowed to the caller's administered projects (in the query).
      if (platformAdmin || (action === 'readAudit' && grants.platform !== undefined)) return;
      if (project !== undefined ? !administers(principal, project) : ![...grants.projects.values()].some((g) => g.admin)) {
        deny(project !== undefined ? `needs the admin role in project ${project}` : 'needs the admin role in a project, or a platform role');
      }
      return;
    case 'writeStatus':
      if (controller === undefined || controller !== resourceKind?.controller) deny(`only controller ${resourceKind?.controller ?? '?'} writes this status`);
      return;
    case 'removeFinalizer':
      if (controller === undefined || controller !== target.finalizer) deny(`only controller ${target.finalizer ?? '?'} removes its finalizer`);
      // The answer is the object: only for a controller that may read its kind (a finalizer is its
      // owner's). Any controller token used to read any object of any kind by naming its own finalizer.
      if (!resourceKind || !can(principal, 'get', resourceKind, project ?? '')) deny(`controller ${controller ?? '?'} may not read ${resourceKind?.kind ?? 'this kind'}`);
      return;
    case 'forceRemoveFinalizer':
      if (platformAdmin) return;
      if (resourceKind?.scope === 'Project' && project !== undefined && administers(principal, project)) return;
      deny('only a platform admin, or an admin of the project, force-removes a finalizer');
      return;
    case 'readSecrets':
      if (controller === undefined || !resourceKind || (controller !== resourceKind.controller && !(resourceKind.secretReaders ?? []).includes(controller))) {
        deny(`secret fields are read only by controller ${resourceKind?.controller ?? '?'}${resourceKind?.secretReaders?.length ? ` and ${resourceKind.secretReaders.join(', ')}` : ''}`);
      }
      return;
    case 'writeEvent':
      if (controller !== undefined && controller === resourceKind?.controller) return;
      if (resourceKind && can(principal, 'update', resourceKind, project ?? '')) return;
      deny('events are written by the owning controller or by who may update the object');
      return;
  }
}

function whyNot(principal: Principal, verb: Verb, kind: KindDefinition, project: string): string {
  const { identity, grants } = principal;
  if (identity.type === 'controller') return `controller ${identity.controller ?? '?'} reads the kinds it owns and the kinds they reference, and changes only their status, finalizers and events (and the kinds that name it in composedBy)`;
  if (kind.kind === PROJECT_KIND) return verb === 'update' ? `needs the admin role in project ${project}` : verb === 'create' || verb === 'delete' ? 'platform admin only' : `no role in project ${project}`;
  if (kind.scope === 'Platform') {
    if (verb === 'get' || verb === 'list' || verb === 'watch') return `${kind.kind} is platform-wide: reading it takes a platform role${principal.kinds.catalogue.has(kind.kind) ? ' or a role in a project' : ''}`;
    return `${kind.kind} is platform-wide: changing it takes platform-editor${grants.platform ? ` (this token has ${grants.platform})` : ''}`;
  }
  const grant = grants.projects.get(project);
  if (!grant) return `no role in project ${project}`;
  return `role ${grant.roles.join(', ')} does not allow ${verb} on ${kind.kind}`;
}
