/**
 * The pipeline metrics every service exports on /metrics (prom-client). One registry per
 * process; the `service` label tells services apart when several share a process (standalone).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class PipelineMetrics {
  readonly registry = new Registry();
  readonly consumed = new Counter({
    name: 'moat_messages_consumed_total',
    help: 'Messages read from a topic',
    labelNames: ['service', 'topic'] as const,
    registers: [this.registry],
  });
  readonly produced = new Counter({
    name: 'moat_messages_produced_total',
    help: 'Messages written to a topic and acknowledged',
    labelNames: ['service', 'topic'] as const,
    registers: [this.registry],
  });
  readonly deadLettered = new Counter({
    name: 'moat_messages_dlq_total',
    help: 'Messages routed to the DLQ because they were invalid or could not be processed',
    labelNames: ['service', 'topic'] as const,
    registers: [this.registry],
  });
  readonly batchFailures = new Counter({
    name: 'moat_batch_failures_total',
    help: 'Batches that failed (state store or broker unavailable) and will be retried',
    labelNames: ['service', 'topic'] as const,
    registers: [this.registry],
  });
  readonly batchSeconds = new Histogram({
    name: 'moat_batch_duration_seconds',
    help: 'Time to process a batch: decode, process, produce with acks, persist state, commit',
    labelNames: ['service', 'topic'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'moat_batch_size_messages',
    help: 'Messages per processed batch',
    labelNames: ['service', 'topic'] as const,
    buckets: [1, 10, 50, 100, 500, 1000, 5000],
    registers: [this.registry],
  });
  readonly consumerLag = new Gauge({
    name: 'moat_consumer_lag_messages',
    help: 'Messages between the last processed offset and the partition high watermark',
    labelNames: ['service', 'topic', 'partition'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Registers a service-specific metric in the same registry. */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Counter<L>;
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Gauge<L>;
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
