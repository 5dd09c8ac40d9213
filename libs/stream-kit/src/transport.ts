/**
 * The transport seam: what a message bus must offer so that one processing code path runs on
 * Kafka (distributed) and in memory (standalone, tests). Transports deliver raw batches per
 * partition and commit only after the batch callback resolved; everything about decoding,
 * dead-lettering, producing and persisting lives above this seam, once.
 */
export interface RawMessage {
  topic: string;
  partition: number;
  /** Offset as a decimal string (Kafka offsets exceed 2^53). */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Broker or producer timestamp, epoch ms as a string. */
  timestamp: string;
}

export interface RawBatch {
  topic: string;
  partition: number;
  messages: RawMessage[];
  /** Messages left behind the batch on this partition when known (consumer lag). */
  lag?: number;
}

export interface OutboundMessage {
  topic: string;
  key: string | null;
  /** null is a tombstone (compacted topics). */
  value: Buffer | null;
}

export interface Producer {
  /** Resolves once every message is acknowledged by all in-sync replicas (acks=all). */
  send(messages: OutboundMessage[]): Promise<void>;
}

export interface ProducerOptions {
  /**
   * Compression of the record batches sent (Kafka transports). kafkajs ships GZIP only; it
   * trades CPU for bytes on the wire and on disk.
   */
  compression?: 'none' | 'gzip';
}

export interface SubscribeOptions {
  /** Consumer group. In broadcast mode a unique group is derived from it per instance. */
  groupId: string;
  topics: string[];
  /**
   * group: partitions are shared among the group's members and offsets are committed.
   * broadcast: this instance reads every partition from the beginning and commits nothing
   * (node agents: every instance must see every decision).
   */
  mode: 'group' | 'broadcast';
  /** Called per partition batch; the transport commits after it resolves and retries it if it throws. */
  onBatch: (batch: RawBatch) => Promise<void>;
  /** Told about readiness changes (joined the group / lost the broker). */
  onState?: (state: 'ready' | 'down', detail?: string) => void;
  /** Told about a batch that failed and will be retried. */
  onRetry?: (error: Error, attempt: number) => void;
}

export interface Subscription {
  /** Stops fetching, lets the running batch finish and commit, then leaves the group. */
  stop(): Promise<void>;
}

export interface TopicSpec {
  name: string;
  compacted: boolean;
}

export interface MessageBus {
  readonly kind: 'kafka' | 'memory';
  connect(): Promise<void>;
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  producer(options?: ProducerOptions): Producer;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  close(): Promise<void>;
}

/** Exponential backoff with a ceiling, for retrying a failed batch. */
export function backoffMs(attempt: number, baseMs = 100, maxMs = 5000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 16));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
