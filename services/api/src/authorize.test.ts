import { AWS_ACCOUNT, BUILTIN_KINDS, CLUSTER_DEFINITION, CLUSTER_INSTANCE, EKS_CLUSTER, PROJECT, SECRET_DEFINITION, WORKLOAD_DEFINITION, WORKLOAD_INSTANCE, type PlatformRole } from '@tugboat/resource-model';
import { addProjectRole, createKindIndex, projectsWhere, type Grants, type Principal, type ProjectGrant } from './access.js';
import { authorize } from './authorize.js';
import type { Identity } from './identity.js';

const kinds = createKindIndex(BUILTIN_KINDS);

function principal(identity: Identity, platform?: PlatformRole, roles: Array<[string, string, Record<string, unknown>?]> = []): Principal {
  const projects = new Map<string, ProjectGrant>();
  for (const [project, role, spec] of roles) addProjectRole(projects, project, role, spec);
  const grants: Grants = { ...(platform ? { platform } : {}), projects };
  return { identity, grants, kinds };
}

const forbidden = expect.objectContaining({ status: 403 });

describe('authorize', () => {
  const admin = principal({ name: 'admin', type: 'user' }, 'platform-admin');
  const alice = principal({ name: 'alice', type: 'user', token: 'alice' }, undefined, [['shop', 'editor']]);
  const viewer = principal({ name: 'vic', type: 'user', token: 'vic' }, undefined, [['shop', 'viewer']]);
  const workload = principal({ name: 'wc', type: 'controller', controller: 'workload-controller', token: 'wc' });
  const infra = principal({ name: 'ic', type: 'controller', controller: 'infra-controller', token: 'ic' });
  const cluster = principal({ name: 'cc', type: 'controller', controller: 'cluster-controller', token: 'cc' });
  const outsider = principal({ name: 'oc', type: 'controller', controller: 'team-controller', token: 'oc' });

  it('lets a granted reader read a kind (EksCluster for the managed-services-controller, WorkloadInstance for the support-services-controller), nothing more', () => {
    const databases = principal({ name: 'msc', type: 'controller', controller: 'managed-services-controller', token: 'msc' });
    for (const verb of ['get', 'list', 'watch'] as const) expect(() => authorize(databases, verb, EKS_CLUSTER, '')).not.toThrow();
    for (const verb of ['create', 'update', 'delete'] as const) expect(() => authorize(databases, verb, EKS_CLUSTER, '')).toThrow(forbidden);
    expect(() => authorize(databases, 'writeStatus', EKS_CLUSTER, '')).toThrow(forbidden);
    expect(() => authorize(databases, 'readSecrets', AWS_ACCOUNT, '')).not.toThrow();
    expect(() => authorize(outsider, 'get', EKS_CLUSTER, '')).toThrow(forbidden);
    // The support-services-controller reads the apps (where a secret's store goes), the workload-controller where a secret's value lives.
    const support = principal({ name: 'ssc', type: 'controller', controller: 'support-services-controller', token: 'ssc' });
    for (const verb of ['get', 'list', 'watch'] as const) expect(() => authorize(support, verb, WORKLOAD_INSTANCE, 'shop')).not.toThrow();
    for (const verb of ['create', 'update', 'delete', 'operate'] as const) expect(() => authorize(support, verb, WORKLOAD_INSTANCE, 'shop')).toThrow(forbidden);
    expect(() => authorize(support, 'writeStatus', WORKLOAD_INSTANCE, 'shop')).toThrow(forbidden);
    expect(() => authorize(workload, 'get', SECRET_DEFINITION, '')).not.toThrow();
    expect(() => authorize(workload, 'update', SECRET_DEFINITION, '')).toThrow(forbidden);
  });

  it('lets a composer write the objects it makes (an EksCluster for its ClusterInstance), never their status', () => {
    for (const verb of ['get', 'list', 'watch', 'create', 'update', 'delete'] as const) expect(() => authorize(cluster, verb, EKS_CLUSTER, '')).not.toThrow();
    expect(() => authorize(cluster, 'operate', EKS_CLUSTER, '')).toThrow(forbidden);
    expect(() => authorize(cluster, 'writeStatus', EKS_CLUSTER, '')).toThrow(forbidden);
    expect(() => authorize(infra, 'writeStatus', EKS_CLUSTER, '')).not.toThrow();
    // The owner reads it and what it references, but does not create it.
    expect(() => authorize(infra, 'get', EKS_CLUSTER, '')).not.toThrow();
    expect(() => authorize(infra, 'create', EKS_CLUSTER, '')).toThrow(forbidden);
    for (const who of [workload, outsider]) expect(() => authorize(who, 'create', EKS_CLUSTER, '')).toThrow(forbidden);
    // Composing a kind grants nothing on the other kinds.
    expect(() => authorize(cluster, 'create', CLUSTER_INSTANCE, '')).toThrow(forbidden);
    expect(() => authorize(cluster, 'update', CLUSTER_DEFINITION, '')).toThrow(forbidden);
  });

  it('lets only the owning controller write status, the platform admin included in the refusal', () => {
    expect(() => authorize(workload, 'writeStatus', WORKLOAD_INSTANCE, 'p')).not.toThrow();
    for (const who of [admin, alice, infra]) expect(() => authorize(who, 'writeStatus', WORKLOAD_INSTANCE, 'p')).toThrow(forbidden);
  });

  it('lets only the named controller remove its finalizer, and only the owner or a granted reader read secrets', () => {
    expect(() => authorize(workload, 'removeFinalizer', WORKLOAD_INSTANCE, 'p', { finalizer: 'workload-controller' })).not.toThrow();
    expect(() => authorize(infra, 'removeFinalizer', WORKLOAD_INSTANCE, 'p', { finalizer: 'workload-controller' })).toThrow(forbidden);
    // Naming its own finalizer on a kind it may not read used to hand any controller the object.
    expect(() => authorize(infra, 'removeFinalizer', WORKLOAD_INSTANCE, 'p', { finalizer: 'infra-controller' })).toThrow(forbidden);
    expect(() => authorize(outsider, 'removeFinalizer', AWS_ACCOUNT, '', { finalizer: 'team-controller' })).toThrow(forbidden);
    expect(() => authorize(infra, 'readSecrets', AWS_ACCOUNT, '')).not.toThrow();
    // ClusterInstance names the workload-controller in secretReaders; AwsAccount names the two EKS clients.
    expect(() => authorize(workload, 'readSecrets', CLUSTER_INSTANCE, '')).not.toThrow();
    expect(() => authorize(workload, 'readSecrets', AWS_ACCOUNT, '')).not.toThrow();
    expect(() => authorize(cluster, 'readSecrets', AWS_ACCOUNT, '')).not.toThrow();
    expect(() => authorize(outsider, 'readSecrets', AWS_ACCOUNT, '')).toThrow(forbidden);
    for (const who of [admin, alice]) expect(() => authorize(who, 'readSecrets', AWS_ACCOUNT, '')).toThrow(forbidden);
  });

  it('lets a controller read the kinds it owns and the kinds they reference, and change nothing else', () => {
    for (const kind of [WORKLOAD_INSTANCE, WORKLOAD_DEFINITION, CLUSTER_INSTANCE]) expect(() => authorize(workload, 'watch', kind, 'any')).not.toThrow();
    expect(() => authorize(outsider, 'get', AWS_ACCOUNT, '')).toThrow(forbidden);
    // A secret reader reads the objects whose secrets it reads.
    expect(() => authorize(workload, 'get', AWS_ACCOUNT, '')).not.toThrow();
    expect(() => authorize(workload, 'get', EKS_CLUSTER, '')).toThrow(forbidden);
    for (const verb of ['create', 'update', 'delete', 'operate'] as const) expect(() => authorize(workload, verb, WORKLOAD_INSTANCE, 'p')).toThrow(forbidden);
    expect(projectsWhere(workload, 'list', WORKLOAD_INSTANCE)).toBe('all');
  });

  it('keeps a project role to its project, and a viewer to reading', () => {
    expect(() => authorize(alice, 'create', WORKLOAD_INSTANCE, 'shop')).not.toThrow();
    expect(() => authorize(alice, 'create', WORKLOAD_INSTANCE, 'other')).toThrow(expect.objectContaining({ message: expect.stringContaining('no role in project other') }));
    expect(() => authorize(viewer, 'get', WORKLOAD_INSTANCE, 'shop')).not.toThrow();
    expect(() => authorize(viewer, 'update', WORKLOAD_INSTANCE, 'shop')).toThrow(expect.objectContaining({ message: expect.stringContaining('role viewer does not allow update') }));
    expect(projectsWhere(alice, 'list', WORKLOAD_INSTANCE)).toEqual(['shop']);
  });

  it('reads the catalogue (what project objects reference) with any project role; writes it with platform-editor', () => {
    expect(() => authorize(viewer, 'get', WORKLOAD_DEFINITION, '')).not.toThrow();
    // AwsAccount is in the catalogue too (a DatabaseInstance may name one): its objects, never its secret.
    expect(() => authorize(viewer, 'get', AWS_ACCOUNT, '')).not.toThrow();
    expect(() => authorize(viewer, 'readSecrets', AWS_ACCOUNT, '')).toThrow(forbidden);
    expect(() => authorize(viewer, 'get', EKS_CLUSTER, '')).toThrow(forbidden);
    expect(() => authorize(alice, 'create', WORKLOAD_DEFINITION, '')).toThrow(forbidden);
    const platformEditor = principal({ name: 'pe', type: 'serviceaccount', token: 'pe' }, 'platform-editor');
    expect(() => authorize(platformEditor, 'create', WORKLOAD_DEFINITION, '')).not.toThrow();
    expect(() => authorize(platformEditor, 'create', PROJECT, 'new')).toThrow(forbidden);
    expect(() => authorize(platformEditor, 'registerKind', undefined, undefined)).toThrow(forbidden);
  });

  it('applies custom roles as kinds × verbs', () => {
    const spec = { roles: [{ name: 'deployer', rules: [{ kinds: ['WorkloadInstance'], verbs: ['get', 'list', 'update'] }] }] };
    const deployer = principal({ name: 'ci', type: 'serviceaccount', token: 'ci' }, undefined, [['shop', 'deployer', spec]]);
    expect(() => authorize(deployer, 'update', WORKLOAD_INSTANCE, 'shop')).not.toThrow();
    expect(() => authorize(deployer, 'delete', WORKLOAD_INSTANCE, 'shop')).toThrow(forbidden);
    expect(() => authorize(deployer, 'watch', WORKLOAD_INSTANCE, 'shop')).toThrow(forbidden);
  });

  it('lets a project admin manage its project and its service-account tokens, nothing wider', () => {
    const owner = principal({ name: 'olga', type: 'user', token: 'olga' }, undefined, [['shop', 'admin']]);
    expect(() => authorize(owner, 'update', PROJECT, 'shop')).not.toThrow();
    expect(() => authorize(owner, 'delete', PROJECT, 'shop')).toThrow(forbidden);
    expect(() => authorize(alice, 'update', PROJECT, 'shop')).toThrow(forbidden);
    expect(() => authorize(owner, 'createToken', undefined, 'shop', { tokenType: 'serviceaccount' })).not.toThrow();
    expect(() => authorize(owner, 'createToken', undefined, 'other', { tokenType: 'serviceaccount' })).toThrow(forbidden);
    expect(() => authorize(owner, 'createToken', undefined, 'shop', { tokenType: 'user' })).toThrow(forbidden);
    expect(() => authorize(owner, 'createToken', undefined, undefined, { tokenType: 'serviceaccount' })).toThrow(forbidden);
    expect(() => authorize(owner, 'forceRemoveFinalizer', WORKLOAD_INSTANCE, 'shop')).not.toThrow();
    expect(() => authorize(alice, 'forceRemoveFinalizer', WORKLOAD_INSTANCE, 'shop')).toThrow(forbidden);
    expect(() => authorize(admin, 'forceRemoveFinalizer', WORKLOAD_INSTANCE, 'shop')).not.toThrow();
  });

  it('keeps kinds to the platform admin', () => {
    expect(() => authorize(admin, 'registerKind', undefined, undefined)).not.toThrow();
    expect(() => authorize(alice, 'registerKind', undefined, undefined)).toThrow(forbidden);
  });
});
