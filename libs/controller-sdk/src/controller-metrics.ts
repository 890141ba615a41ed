import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ControllerMetrics {
  registry: Registry;
  /** By outcome and by the kind of the object (a controller may own several kinds). */
  reconciles: Counter<'outcome' | 'kind'>;
  reconcileSeconds: Histogram<'outcome' | 'kind'>;
  queueDepth: Gauge;
  heldMessages: Gauge;
  leaseLosses: Counter;
  deadLetters: Counter;
  /** By the kind published: each owned kind has its own resync round. */
  resyncPublished: Counter<'kind'>;
}

/** One registry per runner (no global default registry), labelled with the controller's name. */
export interface QueueGauges {
  depth: () => number;
  held: () => number;
}

export function createControllerMetrics(controller: string, replicaId: string, queue: QueueGauges): ControllerMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ controller, replica: replicaId });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    reconciles: new Counter({ name: 'tugboat_controller_reconciles_total', help: 'Reconciles by outcome and kind', labelNames: ['outcome', 'kind'], registers: [registry] }),
    reconcileSeconds: new Histogram({
      name: 'tugboat_controller_reconcile_duration_seconds',
      help: 'Time from taking the lease to the outcome',
      labelNames: ['outcome', 'kind'],
      buckets: [0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30, 120],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'tugboat_controller_queue_depth',
      help: 'Objects waiting in the local work queue',
      registers: [registry],
      collect() {
        this.set(queue.depth());
      },
    }),
    heldMessages: new Gauge({
      name: 'tugboat_controller_held_messages',
      help: 'Messages pulled and not yet settled',
      registers: [registry],
      collect() {
        this.set(queue.held());
      },
    }),
    leaseLosses: new Counter({ name: 'tugboat_controller_lease_losses_total', help: 'Object leases lost while held', registers: [registry] }),
    deadLetters: new Counter({ name: 'tugboat_controller_dead_letters_total', help: 'Undecodable messages moved to the dead-letter stream', registers: [registry] }),
    resyncPublished: new Counter({ name: 'tugboat_controller_resync_keys_total', help: 'Keys published by resync, by kind', labelNames: ['kind'], registers: [registry] }),
  };
}
