/**
 * In-memory MessageBus for the standalone runtime and unit tests. It keeps Kafka's semantics
 * that the processing code relies on: keyed partitioning (same key, same partition, in order),
 * offsets, commit-after-batch, redelivery of a failed batch, compaction of compacted topics and
 * broadcast readers that start from the beginning. One member per consumer group.
 */
import type {
  MessageBus,
  OutboundMessage,
  Producer,
  RawBatch,
  RawMessage,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from '../transport';
import { backoffMs, sleep } from '../transport';

interface StoredMessage {
  offset: number;
  key: string | null;
  value: Buffer | null;
  timestamp: number;
}

interface MemoryPartition {
  messages: StoredMessage[];
  nextOffset: number;
}

interface MemoryTopic {
  compacted: boolean;
  partitions: MemoryPartition[];
}

export interface MemoryBusOptions {
  partitions?: number;
  maxBatch?: number;
  /** Non-compacted partitions keep at most this many messages when no group has read them. */
  retainPerPartition?: number;
}

/** Same key, same partition (FNV-1a; the distribution, not the function, is what matters). */
export function partitionFor(key: string | null, partitions: number, roundRobin: number): number {
  if (key === null) return roundRobin % partitions;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

export class MemoryBus implements MessageBus {
  readonly kind = 'memory' as const;
  private readonly topics = new Map<string, MemoryTopic>();
  /** group -> "topic/partition" -> next offset to read; kept after a member stops, as Kafka does. */
  private readonly committed = new Map<string, Map<string, number>>();
  /** Groups that have a member now. */
  private readonly members = new Set<string>();
  private readonly waiters = new Set<() => void>();
  private readonly partitions: number;
  private readonly maxBatch: number;
  private readonly retain: number;
  private roundRobin = 0;
  private closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.partitions = options.partitions ?? 3;
    this.maxBatch = options.maxBatch ?? 500;
    this.retain = options.retainPerPartition ?? 100_000;
  }

  async connect(): Promise<void> {}

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    for (const spec of topics) this.topic(spec.name, spec.compacted);
  }

  producer(): Producer {
    return { send: async (messages) => this.append(messages) };
  }

  /** Everything currently stored on a topic, in partition then offset order (tests, replay). */
  read(
    topic: string,
  ): { partition: number; offset: number; key: string | null; value: Buffer | null }[] {
    const t = this.topics.get(topic);
    if (!t) return [];
    return t.partitions.flatMap((p, partition) => p.messages.map((m) => ({ partition, ...m })));
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new Error('MemoryBus is closed');
    const group = options.mode === 'group' ? options.groupId : undefined;
    if (group !== undefined && this.members.has(group)) {
      throw new Error(
        `MemoryBus supports one member per consumer group; "${group}" already has one`,
      );
    }
    const positions =
      (group !== undefined ? this.committed.get(group) : undefined) ?? new Map<string, number>();
    if (group !== undefined) {
      this.members.add(group);
      this.committed.set(group, positions);
    }
    for (const name of options.topics) {
      // A group holds back trimming from the moment it subscribes, not from its first commit.
      const topic = this.topic(name, false);
      if (group === undefined) continue;
      for (let p = 0; p < topic.partitions.length; p++) {
        if (!positions.has(`${name}/${p}`)) positions.set(`${name}/${p}`, 0);
      }
    }

    let running = true;
    let wake: (() => void) | undefined;
    const loop = (async () => {
      options.onState?.('ready');
      while (running) {
        const batch = this.nextBatch(options.topics, positions);
        if (!batch) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            this.waiters.add(resolve);
          });
          if (wake) this.waiters.delete(wake);
          continue;
        }
        for (let attempt = 0; running; attempt++) {
          try {
            await options.onBatch(batch.raw);
            positions.set(batch.position, batch.next);
            if (group !== undefined) this.trim(batch.raw.topic, batch.raw.partition);
            break;
          } catch (err) {
            options.onRetry?.(err as Error, attempt);
            await sleep(backoffMs(attempt));
          }
        }
      }
      options.onState?.('down', 'stopped');
    })();

    return {
      stop: async () => {
        running = false;
        wake?.();
        await loop;
        if (group !== undefined) this.members.delete(group);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.waiters) wake();
  }

  private topic(name: string, compacted: boolean): MemoryTopic {
    let topic = this.topics.get(name);
    if (!topic) {
      topic = {
        compacted,
        partitions: Array.from({ length: this.partitions }, () => ({
          messages: [],
          nextOffset: 0,
        })),
      };
      this.topics.set(name, topic);
    } else if (compacted) {
      topic.compacted = true;
    }
    return topic;
  }

  private append(messages: OutboundMessage[]): void {
    if (this.closed) throw new Error('MemoryBus is closed');
    const now = Date.now();
    for (const message of messages) {
      const topic = this.topic(message.topic, false);
      const index = partitionFor(message.key, topic.partitions.length, this.roundRobin++);
      const partition = topic.partitions[index];
      partition.messages.push({
        offset: partition.nextOffset++,
        key: message.key,
        value: message.value,
        timestamp: now,
      });
      if (topic.compacted && partition.messages.length > 1024) this.compact(partition);
      if (!topic.compacted && partition.messages.length > this.retain) {
        partition.messages.splice(0, partition.messages.length - this.retain);
      }
    }
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  private nextBatch(topics: string[], positions: Map<string, number>) {
    for (const name of topics) {
      const topic = this.topics.get(name);
      if (!topic) continue;
      for (let partition = 0; partition < topic.partitions.length; partition++) {
        const p = topic.partitions[partition];
        const position = `${name}/${partition}`;
        const from = positions.get(position) ?? 0;
        const start = firstAtOrAfter(p.messages, from);
        if (start >= p.messages.length) continue;
        const slice = p.messages.slice(start, start + this.maxBatch);
        const raw: RawBatch = {
          topic: name,
          partition,
          lag: p.messages.length - start - slice.length,
          messages: slice.map((m): RawMessage => ({
            topic: name,
            partition,
            offset: String(m.offset),
            key: m.key === null ? null : Buffer.from(m.key),
            value: m.value,
            timestamp: String(m.timestamp),
          })),
        };
        return { raw, position, next: slice[slice.length - 1].offset + 1 };
      }
    }
    return undefined;
  }

  /** Drops messages every consumer group has read (non-compacted topics only). */
  private trim(topicName: string, partitionIndex: number): void {
    const topic = this.topics.get(topicName);
    if (!topic || topic.compacted) return;
    let min = Infinity;
    for (const positions of this.committed.values()) {
      const position = positions.get(`${topicName}/${partitionIndex}`);
      if (position !== undefined) min = Math.min(min, position);
    }
    if (!Number.isFinite(min)) return;
    const p = topic.partitions[partitionIndex];
    const drop = firstAtOrAfter(p.messages, min);
    if (drop > 0) p.messages.splice(0, drop);
  }

  /** Keeps the latest message per key, offsets unchanged, as Kafka's log cleaner does. */
  private compact(partition: MemoryPartition): void {
    const latest = new Map<string | null, number>();
    partition.messages.forEach((m, i) => latest.set(m.key, i));
    partition.messages = partition.messages.filter(
      (m, i) => m.key === null || latest.get(m.key) === i,
    );
  }
}

function firstAtOrAfter(messages: StoredMessage[], offset: number): number {
  let lo = 0;
  let hi = messages.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (messages[mid].offset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
