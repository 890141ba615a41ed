// `@tugboat/controller-sdk/testing`: helpers for controller authors' unit tests.
export { createFakeApi } from './testing/fake-api.js';
export type { FakeApi, FakeApiOptions } from './testing/fake-api.js';
export { createInMemoryLeaseManager } from './testing/in-memory-leases.js';
export type { InMemoryLeaseManager } from './testing/in-memory-leases.js';
export { reconcileOnce } from './testing/reconcile-once.js';
export type { ReconcileOnceOptions, ReconcileOnceResult } from './testing/reconcile-once.js';
export { createManualClock } from './testing/manual-clock.js';
export type { ManualClock } from './testing/manual-clock.js';
