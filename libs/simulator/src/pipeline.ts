/**
 * Simulated traffic through the real pipeline code: the mirror agent's Normaliser turns each
 * request into a moat.requests.v1 record (credentials hashed with the given secret), and the
 * sessionizer's own batch handler, over an in-memory state store, turns records into
 * moat.events.v1 events — the inputs detectors see, each with the label of the request.
 */
import { createHash } from 'node:crypto';
import { codecs, topicNames, type RequestRecord, type SessionEvent } from '@moat/contracts';
import {
  DEFAULT_API_KEY_HEADERS,
  DEFAULT_SESSION_COOKIES,
  Normaliser,
  type NormaliserOptions,
} from '@moat/mirror-service';
import { sessionizerHandler, type SessionizerOptions } from '@moat/sessionizer-service';
import { Emitter, MemoryStateStore, type BatchContext, type InRecord } from '@moat/stream-kit';
import { DEFAULT_APP } from './simulate';
import type { Label, SimulatedRequest } from './simulation.types';

export interface LabelledRecord {
  record: RequestRecord;
  label: Label;
  actor: string;
}

export interface LabelledEvent {
  event: SessionEvent;
  label: Label;
  actor: string;
}

/** Normalises simulated requests as the mirror agent would; lazy, in the input's order. */
export function* toRequestRecords(
  simulated: Iterable<SimulatedRequest>,
  secret: string,
  options: Partial<Omit<NormaliserOptions, 'secret'>> = {},
): Generator<LabelledRecord> {
  const normaliser = new Normaliser({
    secret,
    defaultApp: options.defaultApp ?? DEFAULT_APP,
    sessionCookies: options.sessionCookies ?? DEFAULT_SESSION_COOKIES,
    apiKeyHeaders: options.apiKeyHeaders ?? DEFAULT_API_KEY_HEADERS,
    ...(options.sensitiveQueryParams ? { sensitiveQueryParams: options.sensitiveQueryParams } : {}),
  });
  for (const request of simulated) {
    const record = normaliser.normalise(request.input);
    const checked = codecs.requests.check(record);
    if (!checked.ok)
      throw new Error(
        `simulated request ${request.input.id} normalises to an invalid record: ${checked.reason}`,
      );
    yield { record, label: request.label, actor: request.actor };
  }
}

export interface SessionEventOptions extends Partial<SessionizerOptions> {
  /** Partitions of the simulated requests topic (records are spread by client IP). */
  partitions?: number;
  /** Records per batch handed to the sessionizer's handler. */
  batchSize?: number;
}

const topics = topicNames('simulation');

function partitionOf(ip: string, partitions: number): number {
  return createHash('md5').update(ip).digest().readUInt32BE(0) % partitions;
}

/**
 * Sessionizes labelled records with the sessionizer's own handler over a MemoryStateStore
 * whose clock is the event time (so state expires as it would live), in event-time order.
 * Accepts simulated requests (normalised with `secret`) or labelled records.
 */
export async function* toSessionEvents(
  input: Iterable<SimulatedRequest> | Iterable<LabelledRecord>,
  options: SessionEventOptions & { secret?: string } = {},
): AsyncGenerator<LabelledEvent> {
  const partitions = options.partitions ?? 6;
  const batchSize = options.batchSize ?? 500;
  let clock = 0;
  const store = new MemoryStateStore(() => clock);
  const { secret } = options;
  const handle = sessionizerHandler(options, store);
  const offsets = new Array<number>(partitions).fill(0);
  const records = labelledRecords(input, secret);
  let batch: { record: InRecord<RequestRecord>; label: Label; actor: string }[] = [];

  const flush = async function* (): AsyncGenerator<LabelledEvent> {
    if (batch.length === 0) return;
    const out = new Emitter(topics);
    const failures: string[] = [];
    const ctx: BatchContext = {
      out,
      deadLetter: (record, reason) =>
        failures.push(`${(record.value as RequestRecord).id}: ${reason}`),
    };
    const outcome = await handle(
      batch.map((b) => b.record),
      ctx,
    );
    if (failures.length > 0)
      throw new Error(`the sessionizer rejected simulated records: ${failures.join('; ')}`);
    await outcome?.persist?.();
    const byId = new Map(batch.map((b) => [b.record.value!.id, b]));
    batch = [];
    for (const message of out.drain()) {
      if (message.topic !== topics.events) continue;
      const decoded = codecs.events.decode(message.value);
      if (!decoded.ok || !decoded.value)
        throw new Error(
          `the sessionizer emitted an invalid event: ${decoded.ok ? 'null' : decoded.reason}`,
        );
      const source = byId.get(decoded.value.request.id)!;
      yield { event: decoded.value, label: source.label, actor: source.actor };
    }
  };

  for (const { record, label, actor } of records) {
    clock = Math.max(clock, record.ts);
    const partition = partitionOf(record.ip, partitions);
    batch.push({
      record: {
        topic: topics.requests,
        partition,
        offset: String(offsets[partition]++),
        key: record.ip,
        value: record,
        timestamp: record.ts,
      },
      label,
      actor,
    });
    if (batch.length >= batchSize) yield* flush();
  }
  yield* flush();
}

/** Collects toSessionEvents into an array (small simulations, tests). */
export async function collectSessionEvents(
  input: Iterable<SimulatedRequest> | Iterable<LabelledRecord>,
  options: SessionEventOptions & { secret?: string } = {},
): Promise<LabelledEvent[]> {
  const events: LabelledEvent[] = [];
  for await (const event of toSessionEvents(input, options)) events.push(event);
  return events;
}

function* labelledRecords(
  input: Iterable<SimulatedRequest> | Iterable<LabelledRecord>,
  secret: string | undefined,
): Generator<LabelledRecord> {
  const iterator = input[Symbol.iterator]();
  const first = iterator.next();
  if (first.done) return;
  const rest: Iterable<SimulatedRequest | LabelledRecord> = { [Symbol.iterator]: () => iterator };
  if ('record' in first.value) {
    yield first.value;
    yield* rest as Iterable<LabelledRecord>;
    return;
  }
  if (!secret) throw new Error('toSessionEvents needs { secret } to normalise simulated requests.');
  const requests = (function* () {
    yield first.value as SimulatedRequest;
    yield* rest as Iterable<SimulatedRequest>;
  })();
  yield* toRequestRecords(requests, secret);
}
