/**
 * Prometheus metrics of one API process, on its own registry (no global state): request latency by
 * route, and the relay's view of delivery — how long a committed change waited before JetStream
 * acknowledged it, how many were published, how many wait.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ApiMetrics {
  registry: Registry;
  httpRequestSeconds: Histogram<'method' | 'route' | 'status'>;
  /** From the outbox row's commit (its `created_at`, close enough) to the server's ack. */
  commitToPublishSeconds: Histogram;
  published: Counter;
  publishFailures: Counter;
  relayActive: Gauge;
  outboxBacklog: Gauge;
}

export function createApiMetrics(options: { countOutbox?: () => Promise<number>; relayActive?: () => boolean } = {}): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
  return {
    registry,
    httpRequestSeconds: new Histogram({
      name: 'tugboat_api_http_request_seconds',
      help: 'HTTP request latency by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets,
      registers: [registry],
    }),
    commitToPublishSeconds: new Histogram({
      name: 'tugboat_outbox_commit_to_publish_seconds',
      help: 'Time from writing an outbox row to its acknowledgement by JetStream',
      buckets,
      registers: [registry],
    }),
    published: new Counter({ name: 'tugboat_outbox_published_total', help: 'Outbox rows acknowledged by JetStream and deleted', registers: [registry] }),
    publishFailures: new Counter({ name: 'tugboat_outbox_publish_failures_total', help: 'Publishes that failed (the rows stay and are retried)', registers: [registry] }),
    relayActive: new Gauge({
      name: 'tugboat_outbox_relay_active',
      help: '1 while this process holds the relay lock and publishes',
      registers: [registry],
      collect() {
        this.set(options.relayActive?.() ? 1 : 0);
      },
    }),
    outboxBacklog: new Gauge({
      name: 'tugboat_outbox_backlog',
      help: 'Outbox rows not yet published',
      registers: [registry],
      async collect() {
        if (options.countOutbox) this.set(await options.countOutbox());
      },
    }),
  };
}
