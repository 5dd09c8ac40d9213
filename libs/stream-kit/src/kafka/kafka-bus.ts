/**
 * Kafka MessageBus on kafkajs. Consumers process whole partition batches (eachBatch), never
 * auto-commit, and commit a batch's offsets only after the callback resolved, which in turn
 * resolves only after the batch's outputs were acknowledged (idempotent producer, acks=all)
 * and its state was persisted. The only module in Moat that imports kafkajs.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  CompressionTypes,
  Kafka,
  logLevel,
  type Admin,
  type Consumer,
  type LogEntry,
  type Producer as KafkaProducer,
} from 'kafkajs';
import type { Logger } from '@moat/observability';
import type {
  MessageBus,
  OutboundMessage,
  Producer,
  ProducerOptions,
  RawBatch,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from '../transport';
import { backoffMs, sleep } from '../transport';

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  partitions: number;
  replicationFactor: number;
  logger: Logger;
  /** Partitions of one consumer processed at the same time (state is per key, keys per partition). */
  partitionsConsumedConcurrently?: number;
  /**
   * Namespace of the consumer groups: group `scoring` joins Kafka as `<groupPrefix>.scoring`.
   * The distributed runtime passes MOAT_TOPIC_PREFIX, so that pipelines with different prefixes
   * on one cluster never share a group (kafkajs's group leader assigns only the topics it
   * subscribed to itself: a member of another pipeline in the same group would get none).
   */
  groupPrefix?: string;
  /**
   * How often the admin client retries, connecting included (default 8, backing off up to 5 s).
   * connect() connects it first, so with 0 an unreachable Kafka fails connect() at once. For a
   * caller that retries connecting itself (the node agent's decision follower): kafkajs's retry
   * timers cannot be cancelled, so a stop() while Kafka is away would leave them running, and
   * the process alive, for ~20 s. (Producer and consumers keep retrying as usual.)
   */
  adminRetries?: number;
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export class KafkaBus implements MessageBus {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly kafkaProducer: KafkaProducer;
  private readonly consumers = new Set<Consumer>();
  private producerConnected = false;

  constructor(private readonly options: KafkaBusOptions) {
    const log = options.logger.child({ component: 'kafkajs' });
    const client = (retries: number) =>
      new Kafka({
        clientId: options.clientId,
        brokers: options.brokers,
        connectionTimeout: 3000,
        retry: { retries, initialRetryTime: 200, maxRetryTime: 5000 },
        logLevel: logLevel.WARN,
        logCreator:
          () =>
          ({ level, log: entry }: LogEntry) => {
            const { message, ...rest } = entry;
            // Retries are bounded on purpose (a caller must get an error, e.g. the mirror's 503);
            // Moat relies on at-least-once delivery with idempotent consumers, not on EoS.
            if (message.startsWith('Limiting retries for the idempotent producer')) return;
            log[LEVELS[level] ?? 'info'](rest, message);
          },
      });
    this.kafka = client(8);
    // kafkajs retries connecting with the client's settings, not the admin's: hence a client.
    this.admin = (
      options.adminRetries === undefined ? this.kafka : client(options.adminRetries)
    ).admin();
    this.kafkaProducer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
  }

  async connect(): Promise<void> {
    try {
      await this.admin.connect();
      await this.kafkaProducer.connect();
      this.producerConnected = true;
    } catch (err) {
      throw new Error(
        `Cannot reach Kafka at ${this.options.brokers.join(',')} (${(err as Error).message}): start the broker (npm run kafka:start) or set KAFKA_BROKERS.`,
      );
    }
  }

  /** Creates missing topics; compacted ones get cleanup.policy=compact. */
  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length === 0) return;
    try {
      await this.admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: this.options.partitions,
          replicationFactor: this.options.replicationFactor,
          configEntries: t.compacted
            ? [
                { name: 'cleanup.policy', value: 'compact' },
                { name: 'min.compaction.lag.ms', value: '0' },
              ]
            : [],
        })),
      });
    } catch (err) {
      // Another service may have created them at the same moment.
      const now = new Set(await this.admin.listTopics());
      if (missing.some((t) => !now.has(t.name))) throw err;
    }
  }

  /** Broker ids and the controller, for start-up logs and tests. */
  async describeCluster() {
    return this.admin.describeCluster();
  }

  /** The group id `groupId` joins Kafka as (see `groupPrefix`). */
  groupName(groupId: string): string {
    return this.options.groupPrefix ? `${this.options.groupPrefix}.${groupId}` : groupId;
  }

  /** Committed offset per partition of a group on a topic (-1 when none), for ops and tests. */
  async committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
    const [result] = await this.admin.fetchOffsets({
      groupId: this.groupName(groupId),
      topics: [topic],
    });
    return new Map(result.partitions.map((p) => [p.partition, p.offset]));
  }

  /** High watermark per partition of a topic. */
  async endOffsets(topic: string): Promise<Map<number, string>> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((p) => [p.partition, p.high]));
  }

  /** The send in progress; sends are chained (see producer()). */
  private sending: Promise<unknown> = Promise.resolve();

  producer(options: ProducerOptions = {}): Producer {
    const compression =
      options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    return {
      send: async (messages: OutboundMessage[]) => {
        if (messages.length === 0) return;
        if (!this.producerConnected) throw new Error('Kafka producer is not connected');
        // One send at a time: kafkajs's idempotent producer assigns sequence numbers wrongly
        // when sends overlap (two consumers of one process producing at once) and then fails
        // every later send with OUT_OF_ORDER_SEQUENCE_NUMBER (tulios/kafkajs#598).
        const send = this.sending.then(async () => {
          for (const chunk of requestChunks(messages))
            await this.kafkaProducer.sendBatch({ acks: -1, compression, topicMessages: chunk });
        });
        this.sending = send.then(
          () => undefined,
          () => undefined,
        );
        await send;
      },
    };
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const broadcast = options.mode === 'broadcast';
    const group = this.groupName(options.groupId);
    const groupId = broadcast
      ? `${group}.${hostname()}.${process.pid}.${randomUUID().slice(0, 8)}`
      : group;
    const consumer = this.kafka.consumer({
      groupId,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      rebalanceTimeout: 60_000,
      maxWaitTimeInMs: broadcast ? 100 : 250,
      allowAutoTopicCreation: false,
    });
    this.consumers.add(consumer);
    const { GROUP_JOIN, CRASH, DISCONNECT, STOP } = consumer.events;
    consumer.on(GROUP_JOIN, () => options.onState?.('ready'));
    consumer.on(CRASH, (e) =>
      options.onState?.(
        'down',
        `consumer crashed: ${e.payload.error.message}; restart=${String(e.payload.restart)}`,
      ),
    );
    consumer.on(DISCONNECT, () => options.onState?.('down', 'disconnected'));
    consumer.on(STOP, () => options.onState?.('down', 'stopped'));

    await consumer.connect();
    // A group without committed offsets starts at the earliest retained message, so that a
    // newly deployed service loses nothing that was published before it joined.
    await consumer.subscribe({ topics: options.topics, fromBeginning: true });
    // kafkajs's disconnect() does not wait for an eachBatch in flight to finish its commit, so
    // the bus tracks batches itself: stop() refuses new batches, waits for those in flight
    // (which produce, persist and commit), and only then leaves the group.
    let stopping = false;
    const inFlight = new Set<Promise<void>>();
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (stopping || batch.isEmpty()) return;
        const work = (async () => {
          const raw: RawBatch = {
            topic: batch.topic,
            partition: batch.partition,
            messages: batch.messages.map((m) => ({
              topic: batch.topic,
              partition: batch.partition,
              offset: m.offset,
              key: m.key,
              value: m.value,
              timestamp: m.timestamp,
            })),
          };
          const lag = Number(batch.offsetLag());
          raw.lag = Number.isFinite(lag) ? lag : undefined;
          for (let attempt = 0; ; attempt++) {
            try {
              await options.onBatch(raw);
              break;
            } catch (err) {
              options.onRetry?.(err as Error, attempt);
              // Stop retrying when the partition moved away or we are shutting down: nothing
              // is committed, so the batch is processed again by whoever owns it next.
              if (stopping || !isRunning() || isStale()) throw err;
              await sleep(backoffMs(attempt));
              await heartbeat();
            }
          }
          const last = batch.lastOffset();
          resolveOffset(last);
          if (!broadcast && !isStale()) {
            await consumer.commitOffsets([
              {
                topic: batch.topic,
                partition: batch.partition,
                offset: (BigInt(last) + 1n).toString(),
              },
            ]);
          }
          await heartbeat();
        })();
        inFlight.add(work);
        try {
          await work;
        } finally {
          inFlight.delete(work);
        }
      },
    });

    return {
      stop: async () => {
        stopping = true;
        await Promise.allSettled([...inFlight]);
        await consumer.disconnect();
        this.consumers.delete(consumer);
        if (broadcast) await this.admin.deleteGroups([groupId]).catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    for (const consumer of this.consumers) await consumer.disconnect().catch(() => undefined);
    this.consumers.clear();
    if (this.producerConnected) await this.kafkaProducer.disconnect().catch(() => undefined);
    this.producerConnected = false;
    await this.admin.disconnect().catch(() => undefined);
  }
}

/**
 * Below the broker's default `message.max.bytes` (1 MiB): kafkajs puts all the messages of a
 * send for one partition into one record batch, which the broker refuses whole when it is
 * larger (MESSAGE_TOO_LARGE) — and a batch's outputs can be larger than its input (events carry
 * their request). Larger sends go as several requests, one after the other, in order.
 */
const MAX_REQUEST_BYTES = 900_000;

function requestChunks(
  messages: OutboundMessage[],
): { topic: string; messages: { key: string | null; value: Buffer | null }[] }[][] {
  const chunks: Map<string, { key: string | null; value: Buffer | null }[]>[] = [];
  let current = new Map<string, { key: string | null; value: Buffer | null }[]>();
  let size = 0;
  for (const m of messages) {
    const bytes = (m.key?.length ?? 0) + (m.value?.length ?? 0) + 70; // record overhead
    if (size > 0 && size + bytes > MAX_REQUEST_BYTES) {
      chunks.push(current);
      current = new Map();
      size = 0;
    }
    let list = current.get(m.topic);
    if (!list) current.set(m.topic, (list = []));
    list.push({ key: m.key, value: m.value });
    size += bytes;
  }
  chunks.push(current);
  return chunks.map((chunk) => [...chunk].map(([topic, msgs]) => ({ topic, messages: msgs })));
}
