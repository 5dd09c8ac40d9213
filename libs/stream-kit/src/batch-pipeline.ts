/**
 * The one processing path every consumer runs, on Kafka and in memory alike:
 * decode and validate each message → dead-letter what is invalid → hand the valid records to
 * the handler → produce its outputs and the dead letters (acks=all) → persist its state →
 * return, after which the transport commits. A failure anywhere before the commit leaves the
 * batch uncommitted and it is processed again; handlers make that harmless (idempotence).
 */
import {
  codecs,
  type DeadLetter,
  type MessageOf,
  type TopicNames,
  type TopicRole,
} from '@moat/contracts';
import type { PipelineMetrics } from '@moat/observability';
import { Emitter } from './emitter';
import type { OutboundMessage, Producer, RawBatch, RawMessage } from './transport';

export interface InRecord<T> {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** null only for tombstones on compacted topics. */
  value: T | null;
  timestamp: number;
}

export interface BatchOutcome {
  /** Called after the outputs are acknowledged and before the offsets are committed. */
  persist?: () => Promise<void>;
}

export interface BatchContext {
  readonly out: Emitter;
  /** Routes one input to the DLQ with a reason (a record the handler cannot process). */
  deadLetter(record: InRecord<unknown>, reason: string): void;
}

export type BatchHandler<T> = (
  records: InRecord<T>[],
  ctx: BatchContext,
) => Promise<BatchOutcome | void>;

export interface PipelineOptions<R extends TopicRole> {
  service: string;
  input: R;
  topics: TopicNames;
  producer: Producer;
  metrics: PipelineMetrics;
  handler: BatchHandler<MessageOf<R>>;
  now?: () => number;
}

export function createBatchPipeline<R extends TopicRole>(options: PipelineOptions<R>) {
  const { service, input, topics, producer, metrics, handler } = options;
  const codec = codecs[input];
  const now = options.now ?? Date.now;
  const labels = { service, topic: topics[input] };

  return async function processBatch(batch: RawBatch): Promise<void> {
    const timer = metrics.batchSeconds.startTimer(labels);
    const out = new Emitter(topics);
    const dead: OutboundMessage[] = [];
    const rawByRecord = new Map<InRecord<unknown>, RawMessage>();
    const deadLetter = (raw: RawMessage, reason: string) => {
      const letter: DeadLetter = {
        v: 1,
        reason: reason.slice(0, 4096),
        service,
        topic: raw.topic,
        partition: raw.partition,
        offset: raw.offset,
        key: raw.key?.toString('base64') ?? null,
        value: raw.value?.toString('base64') ?? null,
        failedAt: now(),
      };
      dead.push({
        topic: topics.dlq,
        key: raw.key?.toString('utf8') ?? null,
        value: codecs.dlq.encode(letter),
      });
    };

    const records: InRecord<MessageOf<R>>[] = [];
    for (const raw of batch.messages) {
      const decoded = codec.decode(raw.value);
      if (!decoded.ok) {
        deadLetter(raw, decoded.reason);
        continue;
      }
      const record: InRecord<MessageOf<R>> = {
        topic: raw.topic,
        partition: raw.partition,
        offset: raw.offset,
        key: raw.key?.toString('utf8') ?? null,
        value: decoded.value,
        timestamp: Number(raw.timestamp),
      };
      rawByRecord.set(record, raw);
      records.push(record);
    }

    const ctx: BatchContext = {
      out,
      deadLetter: (record, reason) => {
        const raw = rawByRecord.get(record);
        if (raw) deadLetter(raw, reason);
      },
    };
    let outcome: BatchOutcome | void;
    try {
      outcome = records.length > 0 ? await handler(records, ctx) : undefined;
      const outputs = out.drain();
      await producer.send([...outputs, ...dead]);
      await outcome?.persist?.();
      countByTopic(outputs, (topic, n) => metrics.produced.inc({ service, topic }, n));
    } catch (err) {
      metrics.batchFailures.inc(labels);
      timer();
      throw err;
    }
    metrics.consumed.inc(labels, batch.messages.length);
    if (dead.length > 0) metrics.deadLettered.inc(labels, dead.length);
    metrics.batchSize.observe(labels, batch.messages.length);
    if (batch.lag !== undefined) {
      metrics.consumerLag.set({ ...labels, partition: String(batch.partition) }, batch.lag);
    }
    timer();
  };
}

function countByTopic(messages: OutboundMessage[], add: (topic: string, n: number) => void): void {
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m.topic, (counts.get(m.topic) ?? 0) + 1);
  for (const [topic, n] of counts) add(topic, n);
}
