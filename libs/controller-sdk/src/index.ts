export { defineController, dependentsOf } from './define-controller.js';
export type {
  AnyControllerDeclaration,
  ControllerDeclaration,
  ControllerSpec,
  EventType,
  MapContext,
  ReconcileContext,
  ReconcileResult,
  StatusFields,
  StatusUpdate,
  WatchSpec,
} from './define-controller.js';
export type { ControllerDeclarations, RunnableController } from './controller-parts.js';
export { createControllerRunner } from './controller-runner.js';
export type { ControllerRunner, ControllerRunnerOptions } from './controller-runner.js';
export { runController } from './run-controller.js';
export { controllerEnvironment, millisecondsSetting } from './controller-environment.js';
export type { ControllerEnvironment } from './controller-environment.js';
export type { RunControllerOptions, RunningController } from './run-controller.js';
export type { Disposition, ReconcileOutcome, ReconcileReport } from './object-reconciler.js';
export { LeaseLostError } from './lease-manager.js';
export { systemClock } from './clock.js';
export type { Clock, ClockTimer } from './clock.js';
export { retryDelayMs } from './retry-delay.js';
export type { RetryDelayOptions } from './retry-delay.js';
export { eventsStreamConfig, resyncStreamConfig, deadLetterStreamConfig } from './jetstream-setup.js';
export { abortableSleep } from './abortable-sleep.js';
export { createReadCache, uncachedReads } from './read-cache.js';
export type { CachedReads, CachedReadOptions, CacheChannel, CacheSpec, ReadCache, ReadCacheOptions, ReadCacheStats } from './read-cache.js';
export { feedReadCache } from './read-cache-feed.js';
export type { ReadCacheFeed } from './read-cache-feed.js';
