/**
 * The one authorization hook. Every route asks it before acting; a later issue turns it into roles.
 * Today: the admin manages tokens (create, list, revoke) and kinds (register, update, delete); only the owning controller writes a kind's status;
 * only the named controller removes its finalizer, and only the admin force-removes another's;
 * only controllers read secrets; any authenticated identity may otherwise read and write resources
 * and use the operator controls (`operate`: suspend, resume, reconcile now).
 */
import { ForbiddenError, type KindDefinition } from '@tugboat/resource-model';
import { ADMIN_NAME, type Identity } from './identity.js';

export type Action =
  | 'get'
  | 'list'
  | 'create'
  | 'update'
  | 'delete'
  | 'writeStatus'
  | 'removeFinalizer'
  | 'forceRemoveFinalizer'
  | 'operate'
  | 'readSecrets'
  | 'writeEvent'
  | 'registerKind'
  | 'updateKind'
  | 'deleteKind'
  | 'createToken'
  | 'listTokens'
  | 'revokeToken'
  | 'readKeys';

export interface AuthorizationTarget {
  /** For `removeFinalizer`: which finalizer. */
  finalizer?: string;
}

/** Throws `ForbiddenError` when `identity` may not do `action`; returns otherwise. */
export function authorize(identity: Identity, action: Action, resourceKind: KindDefinition | undefined, project: string | undefined, target: AuthorizationTarget = {}): void {
  const isAdmin = identity.type === 'user' && identity.name === ADMIN_NAME;
  const deny = (why: string): never => {
    throw new ForbiddenError(`${identity.type} "${identity.name}" may not ${action}${resourceKind ? ` ${resourceKind.kind}` : ''}${project ? ` in project ${project}` : ''}: ${why}`);
  };
  switch (action) {
    case 'registerKind':
    case 'updateKind':
    case 'deleteKind':
    case 'createToken':
    case 'listTokens':
    case 'revokeToken':
    case 'readKeys':
      if (!isAdmin) deny('admin only');
      return;
    case 'writeStatus':
      if (identity.type !== 'controller' || identity.controller !== resourceKind?.controller) deny(`only controller ${resourceKind?.controller ?? '?'} writes this status`);
      return;
    case 'removeFinalizer':
      if (identity.type !== 'controller' || identity.controller !== target.finalizer) deny(`only controller ${target.finalizer ?? '?'} removes its finalizer`);
      return;
    case 'forceRemoveFinalizer':
      if (!isAdmin) deny('only the admin force-removes a finalizer');
      return;
    case 'readSecrets':
      if (identity.type !== 'controller') deny('secrets are readable by controllers only');
      return;
    default:
      return;
  }
}
