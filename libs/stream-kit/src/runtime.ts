/**
 * A StreamRuntime is everything a service needs from the outside world: a message bus, a state
 * store, topic names, metrics, health and a logger. The distributed runtime is Kafka + Redis;
 * the standalone runtime is the in-memory bus and store. Services are written against this
 * interface only, which is what makes the two runtimes one code path.
 */
import {
  topicNames,
  TOPICS,
  type MessageOf,
  type TopicNames,
  type TopicRole,
} from '@moat/contracts';
import { createLogger, HealthRegistry, PipelineMetrics, type Logger } from '@moat/observability';
import { createBatchPipeline, type BatchHandler } from './batch-pipeline';
import { encodeOutput } from './emitter';
import { KafkaBus } from './kafka/kafka-bus';
import { MemoryBus } from './memory/memory-bus';
import { MemoryStateStore } from './state/memory-store';
import { RedisStateStore } from './state/redis-store';
import type { StateStore } from './state/state-store';
import type { MessageBus, Producer, Subscription } from './transport';

export interface ConsumeOptions<R extends TopicRole> {
  /** Service name: metrics label, log field, health check name. */
  service: string;
  /** Consumer group id; by convention the service name. */
  groupId: string;
  input: R;
  mode?: 'group' | 'broadcast';
  handler: BatchHandler<MessageOf<R>>;
}

export class StreamRuntime {
  private readonly subscriptions = new Set<Subscription>();
  private readonly shared: Producer;
  private started = false;

  constructor(
    readonly mode: 'distributed' | 'standalone',
    readonly bus: MessageBus,
    readonly store: StateStore,
    readonly topics: TopicNames,
    readonly metrics: PipelineMetrics,
    readonly health: HealthRegistry,
    readonly logger: Logger,
  ) {
    this.shared = bus.producer();
  }

  /** Connects to the bus and the store and creates missing topics. Idempotent. */
  async start(): Promise<void> {
    if (this.started) return;
    await this.bus.connect();
    if (this.store instanceof RedisStateStore) await this.store.connect();
    await this.bus.ensureTopics(
      (Object.keys(TOPICS) as TopicRole[]).map((role) => ({
        name: this.topics[role],
        compacted: TOPICS[role].compacted,
      })),
    );
    this.health.register('state-store', () => ({
      state: this.store instanceof RedisStateStore && this.store.status !== 'ready' ? 'down' : 'ok',
      detail: this.store.kind,
    }));
    this.started = true;
  }

  /** Publishes validated messages and resolves once they are acknowledged (acks=all). */
  async publish<R extends TopicRole>(
    role: R,
    messages: { key: string | null; value: MessageOf<R> | null }[],
    service: string,
  ): Promise<void> {
    const outbound = messages.map((m) => encodeOutput(this.topics, role, m.key, m.value));
    await this.shared.send(outbound);
    this.metrics.produced.inc({ service, topic: this.topics[role] }, outbound.length);
  }

  /** Starts a batch consumer on one input topic; see createBatchPipeline for the guarantees. */
  async consume<R extends TopicRole>(options: ConsumeOptions<R>): Promise<Subscription> {
    const { service } = options;
    const checkName = `consumer:${service}`;
    let state: { state: 'ok' | 'down'; detail?: string } = {
      state: 'down',
      detail: 'joining group',
    };
    this.health.register(checkName, () => state);
    const log = this.logger.child({ consumer: service, input: this.topics[options.input] });
    const subscription = await this.bus.subscribe({
      groupId: options.groupId,
      topics: [this.topics[options.input]],
      mode: options.mode ?? 'group',
      onBatch: createBatchPipeline({
        service,
        input: options.input,
        topics: this.topics,
        producer: this.shared,
        metrics: this.metrics,
        handler: options.handler,
      }),
      onState: (s, detail) => {
        state = s === 'ready' ? { state: 'ok' } : { state: 'down', detail };
        log.info({ state: s, detail }, 'consumer state changed');
      },
      onRetry: (error, attempt) =>
        log.warn(
          { err: error.message, attempt },
          'batch failed; it will be retried, offsets not committed',
        ),
    });
    this.subscriptions.add(subscription);
    return {
      stop: async () => {
        await subscription.stop();
        this.subscriptions.delete(subscription);
        this.health.unregister(checkName);
      },
    };
  }

  /** Stops every consumer (each finishes and commits its batch), then disconnects. */
  async close(): Promise<void> {
    for (const subscription of [...this.subscriptions]) await subscription.stop();
    this.subscriptions.clear();
    await this.bus.close();
    await this.store.close();
    this.logger.info('bus and state store disconnected');
  }
}

export interface DistributedRuntimeOptions {
  service: string;
  brokers: string[];
  clientId?: string;
  topicPrefix: string;
  partitions: number;
  replicationFactor: number;
  redisUrl: string;
  redisPrefix: string;
  /** memory: for services with no shared state (the node agent), so they need no Redis. */
  store?: 'redis' | 'memory';
  /** See KafkaBusOptions.adminRetries. */
  adminRetries?: number;
  logger?: Logger;
}

export function createDistributedRuntime(options: DistributedRuntimeOptions): StreamRuntime {
  const logger = options.logger ?? createLogger(options.service);
  const bus = new KafkaBus({
    brokers: options.brokers,
    clientId: options.clientId || options.service,
    partitions: options.partitions,
    replicationFactor: options.replicationFactor,
    groupPrefix: options.topicPrefix,
    adminRetries: options.adminRetries,
    logger,
  });
  const store =
    options.store === 'memory'
      ? new MemoryStateStore()
      : new RedisStateStore({ url: options.redisUrl, prefix: options.redisPrefix });
  return new StreamRuntime(
    'distributed',
    bus,
    store,
    topicNames(options.topicPrefix),
    new PipelineMetrics(),
    new HealthRegistry(),
    logger,
  );
}

export function createStandaloneRuntime(
  options: { topicPrefix?: string; logger?: Logger; metrics?: PipelineMetrics } = {},
): StreamRuntime {
  return new StreamRuntime(
    'standalone',
    new MemoryBus(),
    new MemoryStateStore(),
    topicNames(options.topicPrefix),
    options.metrics ?? new PipelineMetrics(),
    new HealthRegistry(),
    options.logger ?? createLogger('standalone'),
  );
}

/** The distributed runtime from the validated Kafka and Redis environment. */
export function distributedRuntimeFromEnv(
  service: string,
  env: {
    KAFKA_BROKERS: string[];
    KAFKA_CLIENT_ID: string;
    MOAT_TOPIC_PREFIX: string;
    MOAT_TOPIC_PARTITIONS: number;
    MOAT_TOPIC_REPLICATION: number;
    REDIS_URL: string;
    MOAT_REDIS_PREFIX: string;
    LOG_LEVEL: string;
  },
  store: 'redis' | 'memory' = 'redis',
  options: Pick<DistributedRuntimeOptions, 'adminRetries'> = {},
): StreamRuntime {
  return createDistributedRuntime({
    service,
    brokers: env.KAFKA_BROKERS,
    clientId: env.KAFKA_CLIENT_ID || service,
    topicPrefix: env.MOAT_TOPIC_PREFIX,
    partitions: env.MOAT_TOPIC_PARTITIONS,
    replicationFactor: env.MOAT_TOPIC_REPLICATION,
    redisUrl: env.REDIS_URL,
    redisPrefix: env.MOAT_REDIS_PREFIX,
    store,
    ...options,
    logger: createLogger(service, env.LOG_LEVEL),
  });
}
