/**
 * Prometheus metrics of one API process, on its own registry (no global state): requests and their
 * latency by route, and the relay's view of delivery — how long a committed change waited before
 * JetStream acknowledged it, how many were published, how many wait. One metric per measure: the
 * names are the contract's (README, "HTTP contract, part 2"), plus the relay's own.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ApiMetrics {
  registry: Registry;
  /** Requests by route pattern, method and status … */
  httpRequests: Counter<'route' | 'method' | 'status'>;
  /** … and their latency by route pattern and method. */
  httpRequestDuration: Histogram<'route' | 'method'>;
  /** From the outbox row's commit (its `created_at`, close enough) to the server's ack. */
  commitToPublishSeconds: Histogram;
  /** Rows acknowledged by JetStream (`tugboat_relay_published_total`). */
  published: Counter;
  publishFailures: Counter;
  relayActive: Gauge;
}

export interface OutboxStats {
  pending: number;
  /** Age of the oldest unpublished row; 0 when there is none. */
  oldestAgeSeconds: number;
}

export function createApiMetrics(
  options: { relayActive?: () => boolean; outboxStats?: () => Promise<OutboxStats> } = {},
): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
  // One outbox query per scrape feeds both gauges.
  let stats: Promise<OutboxStats> | undefined;
  const outboxStats = (): Promise<OutboxStats> | undefined => {
    if (!options.outboxStats) return undefined;
    stats ??= options.outboxStats().finally(() => setTimeout(() => (stats = undefined), 100).unref());
    return stats;
  };
  new Gauge({
    name: 'tugboat_outbox_pending_rows',
    help: 'Outbox rows committed and not yet published',
    registers: [registry],
    async collect() {
      const current = await outboxStats();
      if (current) this.set(current.pending);
    },
  });
  new Gauge({
    name: 'tugboat_outbox_oldest_age_seconds',
    help: 'Age of the oldest unpublished outbox row (0 when none waits)',
    registers: [registry],
    async collect() {
      const current = await outboxStats();
      if (current) this.set(current.oldestAgeSeconds);
    },
  });
  return {
    registry,
    commitToPublishSeconds: new Histogram({
      name: 'tugboat_outbox_commit_to_publish_seconds',
      help: 'Time from writing an outbox row to its acknowledgement by JetStream',
      buckets,
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: 'tugboat_http_requests_total',
      help: 'HTTP requests by route pattern, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    httpRequestDuration: new Histogram({
      name: 'tugboat_http_request_duration_seconds',
      help: 'HTTP request latency by route pattern and method',
      labelNames: ['route', 'method'],
      buckets,
      registers: [registry],
    }),
    published: new Counter({ name: 'tugboat_relay_published_total', help: 'Change events the relay published (acknowledged by JetStream)', registers: [registry] }),
    publishFailures: new Counter({ name: 'tugboat_outbox_publish_failures_total', help: 'Publishes that failed (the rows stay and are retried)', registers: [registry] }),
    relayActive: new Gauge({
      name: 'tugboat_outbox_relay_active',
      help: '1 while this process holds the relay lock and publishes',
      registers: [registry],
      collect() {
        this.set(options.relayActive?.() ? 1 : 0);
      },
    }),
  };
}
