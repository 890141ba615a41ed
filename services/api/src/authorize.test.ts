import { WORKLOAD_INSTANCE } from '@tugboat/resource-model';
import { authorize } from './authorize.js';

describe('authorize', () => {
  const admin = { name: 'admin', type: 'user' as const };
  const alice = { name: 'alice', type: 'user' as const };
  const workload = { name: 'wc', type: 'controller' as const, controller: 'workload-controller' };
  const infra = { name: 'ic', type: 'controller' as const, controller: 'infra-controller' };

  it('lets only the owning controller write status, the admin included in the refusal', () => {
    expect(() => authorize(workload, 'writeStatus', WORKLOAD_INSTANCE, 'p')).not.toThrow();
    for (const who of [admin, alice, infra]) expect(() => authorize(who, 'writeStatus', WORKLOAD_INSTANCE, 'p')).toThrow(expect.objectContaining({ status: 403 }));
  });

  it('lets only the named controller remove its finalizer and only controllers read secrets', () => {
    expect(() => authorize(workload, 'removeFinalizer', WORKLOAD_INSTANCE, 'p', { finalizer: 'workload-controller' })).not.toThrow();
    expect(() => authorize(infra, 'removeFinalizer', WORKLOAD_INSTANCE, 'p', { finalizer: 'workload-controller' })).toThrow(expect.objectContaining({ status: 403 }));
    expect(() => authorize(infra, 'readSecrets', WORKLOAD_INSTANCE, 'p')).not.toThrow();
    expect(() => authorize(admin, 'readSecrets', WORKLOAD_INSTANCE, 'p')).toThrow(expect.objectContaining({ status: 403 }));
  });

  it('lets only the admin force-remove a finalizer, and anyone authenticated operate an object', () => {
    expect(() => authorize(admin, 'forceRemoveFinalizer', WORKLOAD_INSTANCE, 'p', { finalizer: 'workload-controller' })).not.toThrow();
    for (const who of [alice, workload, infra]) {
      expect(() => authorize(who, 'forceRemoveFinalizer', WORKLOAD_INSTANCE, 'p', { finalizer: 'workload-controller' })).toThrow(expect.objectContaining({ status: 403 }));
    }
    for (const who of [admin, alice, workload]) expect(() => authorize(who, 'operate', WORKLOAD_INSTANCE, 'p')).not.toThrow();
  });

  it('keeps tokens and kinds to the admin; the rest to anyone authenticated', () => {
    expect(() => authorize(admin, 'createToken', undefined, undefined)).not.toThrow();
    expect(() => authorize(alice, 'registerKind', undefined, undefined)).toThrow(expect.objectContaining({ status: 403 }));
    expect(() => authorize(alice, 'create', WORKLOAD_INSTANCE, 'p')).not.toThrow();
  });
});
