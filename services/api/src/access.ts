/**
 * Who may do what (issue 10): the roles, the grants an identity holds, and the questions
 * `authorize()` and the queries ask of them. See docs/access-control.md for the rules in prose.
 *
 * - A project role is a list of rules (kinds × verbs): the built-in `viewer`, `editor` and `admin`,
 *   or a custom role a `Project` defines in `spec.roles`. `admin` also manages the project's
 *   members (its `Project` object) and its service-account tokens, and reads its audit records.
 * - A platform role (on a token) reaches every project: `platform-viewer` reads everything but
 *   secrets, `platform-editor` also writes platform-scoped kinds (definitions, clusters, accounts),
 *   `platform-admin` does everything but read secrets.
 * - Users get their project roles from the projects whose `spec.members` name them; a
 *   service-account token carries its one grant; a controller reads the kinds it owns and the kinds
 *   those reference, writes their status, finalizers and events, and reads the secret fields of the
 *   kinds it owns or that name it in `secretReaders`; a kind that names it in `composedBy` it also
 *   creates, updates and deletes (the objects it makes for its own, e.g. an eks cluster's EksCluster).
 * - Platform-scoped kinds that a project-scoped kind references (definitions, clusters) are the
 *   catalogue: anyone with a role in some project may read them, since their objects point there.
 */
import { PLATFORM_ROLES, PROJECT_ROLES, VERBS, type KindDefinition, type PlatformRole, type Verb } from '@tugboat/resource-model';
import type { Identity } from './identity.js';

export const PROJECT_KIND = 'Project';

export interface RoleRule {
  kinds: '*' | ReadonlySet<string>;
  verbs: ReadonlySet<Verb>;
}

/** What one identity may do in one project: the union of every role it holds there. */
export interface ProjectGrant {
  /** The role names, for messages and `whoami`. */
  roles: string[];
  admin: boolean;
  rules: RoleRule[];
}

export interface Grants {
  platform?: PlatformRole;
  projects: ReadonlyMap<string, ProjectGrant>;
}

export const NO_GRANTS: Grants = { projects: new Map() };

/** The registered kinds, indexed for the controller and catalogue rules. */
export interface KindIndex {
  byName: ReadonlyMap<string, KindDefinition>;
  /** Platform-scoped kinds referenced by a project-scoped kind. */
  catalogue: ReadonlySet<string>;
  /** Per controller: the kinds it owns and the kinds those reference. */
  readableBy(controller: string): ReadonlySet<string>;
}

/** The caller of one request: who, and what they hold. */
export interface Principal {
  identity: Identity;
  grants: Grants;
  kinds: KindIndex;
}

const READ: ReadonlySet<Verb> = new Set(['get', 'list', 'watch']);
const ALL: ReadonlySet<Verb> = new Set(VERBS);

const BUILT_IN_ROLES: Record<(typeof PROJECT_ROLES)[number], RoleRule[]> = {
  viewer: [{ kinds: '*', verbs: READ }],
  editor: [{ kinds: '*', verbs: ALL }],
  admin: [{ kinds: '*', verbs: ALL }],
};

export function isPlatformRole(role: unknown): role is PlatformRole {
  return typeof role === 'string' && (PLATFORM_ROLES as readonly string[]).includes(role);
}

export function isBuiltInProjectRole(role: unknown): role is (typeof PROJECT_ROLES)[number] {
  return typeof role === 'string' && (PROJECT_ROLES as readonly string[]).includes(role);
}

interface CustomRoleSpec {
  name?: unknown;
  rules?: unknown;
}

/** The rules of `role` in a project whose spec is `projectSpec`; undefined for a role it does not define. */
export function roleRules(role: string, projectSpec: Record<string, unknown> | undefined): RoleRule[] | undefined {
  if (isBuiltInProjectRole(role)) return BUILT_IN_ROLES[role];
  const roles = Array.isArray(projectSpec?.['roles']) ? (projectSpec['roles'] as CustomRoleSpec[]) : [];
  const custom = roles.find((r) => r && r.name === role);
  if (!custom || !Array.isArray(custom.rules)) return undefined;
  return (custom.rules as Array<{ kinds?: unknown; verbs?: unknown }>).map((rule) => {
    const kinds = Array.isArray(rule.kinds) ? (rule.kinds as string[]) : [];
    const verbs = Array.isArray(rule.verbs) ? (rule.verbs as string[]) : [];
    return {
      kinds: kinds.includes('*') ? '*' : new Set(kinds),
      verbs: verbs.includes('*') ? ALL : new Set(verbs.filter((v): v is Verb => (VERBS as readonly string[]).includes(v))),
    };
  });
}

/** Adds `role` in `project` to `grants` (a map being built); nothing for a role the project does not define. */
export function addProjectRole(grants: Map<string, ProjectGrant>, project: string, role: string, projectSpec: Record<string, unknown> | undefined): void {
  const rules = roleRules(role, projectSpec);
  if (!rules) return;
  const grant = grants.get(project) ?? { roles: [], admin: false, rules: [] };
  if (!grant.roles.includes(role)) grant.roles.push(role);
  grant.admin ||= role === 'admin';
  grant.rules.push(...rules);
  grants.set(project, grant);
}

export function createKindIndex(definitions: readonly KindDefinition[]): KindIndex {
  const byName = new Map(definitions.map((d) => [d.kind, d]));
  const catalogue = new Set<string>();
  for (const d of definitions) {
    if (d.scope !== 'Project') continue;
    for (const ref of d.references) if (byName.get(ref.kind)?.scope === 'Platform') catalogue.add(ref.kind);
  }
  const readable = new Map<string, Set<string>>();
  return {
    byName,
    catalogue,
    readableBy(controller) {
      let kinds = readable.get(controller);
      if (!kinds) {
        kinds = new Set<string>();
        for (const d of definitions) {
          // What it composes and whose secrets it reads, it reads too.
          if (d.composedBy?.includes(controller) || d.secretReaders?.includes(controller) || d.readers?.includes(controller)) kinds.add(d.kind);
          if (d.controller !== controller && !d.composedBy?.includes(controller)) continue;
          kinds.add(d.kind);
          for (const ref of d.references) kinds.add(ref.kind);
        }
        readable.set(controller, kinds);
      }
      return kinds;
    },
  };
}

function ruleAllows(rules: readonly RoleRule[], kind: string, verb: Verb): boolean {
  return rules.some((rule) => rule.verbs.has(verb) && (rule.kinds === '*' || rule.kinds.has(kind)));
}

/**
 * Whether `principal` may `verb` objects of `kind` in `project`. `project` is the access project:
 * an object's project for project-scoped kinds, the object's own name for a `Project`, `''` for
 * other platform-scoped kinds.
 */
export function can(principal: Principal, verb: Verb, kind: KindDefinition, project: string): boolean {
  const { identity, grants } = principal;
  if (grants.platform === 'platform-admin') return true;
  if (identity.type === 'controller') {
    if (identity.controller === undefined) return false;
    if (READ.has(verb)) return principal.kinds.readableBy(identity.controller).has(kind.kind);
    // A composer writes the objects it makes for its own (never `operate`: that is a person's control).
    return (verb === 'create' || verb === 'update' || verb === 'delete') && kind.composedBy?.includes(identity.controller) === true;
  }
  const reads = READ.has(verb);
  if (kind.kind === PROJECT_KIND) {
    if (reads) return grants.platform !== undefined || grants.projects.has(project);
    return verb === 'update' && grants.projects.get(project)?.admin === true;
  }
  if (kind.scope === 'Platform') {
    if (reads) return grants.platform !== undefined || (principal.kinds.catalogue.has(kind.kind) && grants.projects.size > 0);
    return grants.platform === 'platform-editor';
  }
  if (reads && grants.platform !== undefined) return true;
  const grant = grants.projects.get(project);
  return grant !== undefined && ruleAllows(grant.rules, kind.kind, verb);
}

/**
 * The projects in which `principal` may `verb` objects of `kind`: `'all'`, or a list (for a
 * `Project` kind, the names of the projects it may see). What a list or a watch puts in its query.
 */
export function projectsWhere(principal: Principal, verb: Verb, kind: KindDefinition): 'all' | string[] {
  const { identity, grants } = principal;
  if (grants.platform === 'platform-admin') return 'all';
  if (identity.type === 'controller') return can(principal, verb, kind, '') ? 'all' : [];
  if (kind.scope === 'Platform' && kind.kind !== PROJECT_KIND) return can(principal, verb, kind, '') ? 'all' : [];
  if (READ.has(verb) && grants.platform !== undefined) return 'all';
  return [...grants.projects.keys()].filter((project) => can(principal, verb, kind, project));
}

/** Whether `principal` administers `project` (members, service-account tokens, audit). */
export function administers(principal: Principal, project: string): boolean {
  return principal.grants.platform === 'platform-admin' || principal.grants.projects.get(project)?.admin === true;
}

/** The projects `principal` administers: `'all'` for a platform admin. */
export function administeredProjects(principal: Principal): 'all' | string[] {
  if (principal.grants.platform === 'platform-admin') return 'all';
  return [...principal.grants.projects].filter(([, grant]) => grant.admin).map(([project]) => project);
}

/** `whoami`'s roles: the platform role, then each project's roles. */
export function describeGrants(grants: Grants): Array<{ project?: string; role: string }> {
  const roles: Array<{ project?: string; role: string }> = grants.platform ? [{ role: grants.platform }] : [];
  for (const [project, grant] of [...grants.projects].sort(([a], [b]) => a.localeCompare(b))) for (const role of grant.roles) roles.push({ project, role });
  return roles;
}
