/**
 * The bounded queue between the mirror agent's intakes (HTTP, NGINX mirror, tailed files,
 * syslog) and the Kafka producer. Records are validated and encoded when they are offered;
 * a sender takes as many as fit in one produce request (by count and bytes) and publishes them
 * (acks=all), while the next requests accumulate: batching comes from the load itself, with no
 * added latency when the agent is idle.
 *
 * The queue is bounded in records: an offer that does not fit is refused whole, and the intake
 * decides what that means (the HTTP endpoint answers 429, or 503 when the broker is failing; a
 * tailed file waits for room; syslog drops and counts). Memory is therefore bounded by
 * `maxQueued` records of at most the contract's size each.
 */
import type { RequestRecord, TopicNames } from '@moat/contracts';
import { encodeOutput, type OutboundMessage, type Producer } from '@moat/stream-kit';

export interface PublisherOptions {
  /** Records queued or being sent, at most. */
  maxQueued: number;
  /** Records in one produce request, at most. */
  maxBatchRecords: number;
  /**
   * Bytes (keys and values, before compression) in one produce request, at most. Kafka refuses
   * a record batch over the broker's message.max.bytes (1 MiB by default) per partition.
   */
  maxBatchBytes: number;
  /** Produce requests in flight at once. */
  concurrency: number;
}

export const DEFAULT_PUBLISHER_OPTIONS: PublisherOptions = {
  maxQueued: 100_000,
  maxBatchRecords: 5_000,
  maxBatchBytes: 900_000,
  concurrency: 2,
};

export type Prepared = { ok: true; message: OutboundMessage } | { ok: false; reason: string };

interface Group {
  remaining: number;
  settled: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Item {
  message: OutboundMessage;
  bytes: number;
  group: Group;
}

export interface PublisherEvents {
  /** Records acknowledged by the broker. */
  published?(count: number): void;
  /** A produce request failed; its records' offers were rejected. */
  failed?(count: number, error: Error): void;
}

export class RequestPublisher {
  private queue: Item[] = [];
  private head = 0;
  private inFlight = 0;
  private inFlightRecords = 0;
  private lastError: Error | undefined;
  private lastErrorAt = 0;
  private readonly waiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly producer: Producer,
    private readonly topics: TopicNames,
    private readonly options: PublisherOptions = DEFAULT_PUBLISHER_OPTIONS,
    private readonly events: PublisherEvents = {},
  ) {}

  /** Records queued or being sent. */
  get size(): number {
    return this.queue.length - this.head + this.inFlightRecords;
  }

  get capacity(): number {
    return this.options.maxQueued;
  }

  /** The broker's last answer was an error (and nothing has succeeded since). */
  get failing(): boolean {
    return this.lastError !== undefined;
  }

  get failure(): { error: Error; at: number } | undefined {
    return this.lastError ? { error: this.lastError, at: this.lastErrorAt } : undefined;
  }

  /** Validates and encodes one record for offer(); a record that breaks the contract is refused. */
  prepare(record: RequestRecord): Prepared {
    try {
      return { ok: true, message: encodeOutput(this.topics, 'requests', record.ip, record) };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }

  /**
   * Queues the messages, all or none. Returns undefined when they do not fit (the caller
   * answers 429/503, waits for room, or drops); otherwise a promise that resolves once every
   * one of them is acknowledged and rejects if the broker refused any.
   */
  offer(messages: OutboundMessage[]): Promise<void> | undefined {
    if (this.closed) return Promise.reject(new Error('the mirror agent is shutting down'));
    if (messages.length === 0) return Promise.resolve();
    if (this.size + messages.length > this.options.maxQueued) return undefined;
    const promise = new Promise<void>((resolve, reject) => {
      const group: Group = { remaining: messages.length, settled: false, resolve, reject };
      for (const message of messages) {
        const bytes = (message.value?.length ?? 0) + (message.key?.length ?? 0);
        this.queue.push({ message, bytes, group });
      }
    });
    this.pump();
    return promise;
  }

  /** Resolves once `count` more records would fit (or at once if they already do). */
  async waitForRoom(count: number): Promise<void> {
    const needed = Math.min(count, this.options.maxQueued);
    while (!this.closed && this.size + needed > this.options.maxQueued) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Sends what is queued and waits for it; further offers are refused. */
  async close(): Promise<void> {
    while (this.size > 0 && !this.failing) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.closed = true;
    for (const wake of this.waiters.splice(0)) wake();
  }

  private pump(): void {
    while (this.inFlight < this.options.concurrency && this.head < this.queue.length) {
      const batch: Item[] = [];
      let bytes = 0;
      while (
        this.head < this.queue.length &&
        batch.length < this.options.maxBatchRecords &&
        (batch.length === 0 || bytes + this.queue[this.head].bytes <= this.options.maxBatchBytes)
      ) {
        const item = this.queue[this.head++];
        // What is left of an offer that already failed is not sent: its caller retries it all.
        if (item.group.settled) continue;
        batch.push(item);
        bytes += item.bytes;
      }
      if (this.head > 4096 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (batch.length === 0) continue;
      this.send(batch);
    }
  }

  private send(batch: Item[]): void {
    this.inFlight++;
    this.inFlightRecords += batch.length;
    this.producer.send(batch.map((item) => item.message)).then(
      () => {
        this.lastError = undefined;
        for (const { group } of batch) {
          if (!group.settled && --group.remaining === 0) {
            group.settled = true;
            group.resolve();
          }
        }
        this.events.published?.(batch.length);
        this.done(batch.length);
      },
      (err: Error) => {
        this.lastError = err;
        this.lastErrorAt = Date.now();
        for (const { group } of batch) {
          if (!group.settled) {
            group.settled = true;
            group.reject(err);
          }
        }
        this.events.failed?.(batch.length, err);
        this.done(batch.length);
      },
    );
  }

  private done(count: number): void {
    this.inFlight--;
    this.inFlightRecords -= count;
    this.pump();
    for (const wake of this.waiters.splice(0)) wake();
  }
}
