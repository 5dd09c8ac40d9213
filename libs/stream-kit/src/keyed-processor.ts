/**
 * Keyed state processing, the kit's equivalent of a Kafka Streams processor with a state store:
 * each record is processed with the state of its key, read for the whole batch in one round
 * trip and written back in one pipeline after the outputs are acknowledged.
 *
 * Idempotence: every state entry remembers, per input partition, the offset of the last record
 * applied to it. A record at or below that watermark was applied before a crash that came after
 * the state write but before the commit; its outputs were acknowledged before that write, so it
 * is skipped entirely. A record above it is processed again and re-emits outputs with the same
 * deterministic ids, which consumers de-duplicate. Records of one key must share a partition
 * (true when the key derives from the message key) or carry their own partition watermark.
 */
import type { BatchContext, BatchHandler, BatchOutcome, InRecord } from './batch-pipeline';
import type { Emitter } from './emitter';
import type { StateStore, StateWrite } from './state/state-store';

export interface KeyedProcessor<In, S> {
  /** Namespace of this processor's keys in the state store. */
  readonly name: string;
  /** How long untouched state is kept before the store may drop it. */
  readonly stateTtlMs: number;
  /** The state key of a record; null processes it without state. */
  stateKey(value: In): string | null;
  /**
   * Processes one record given its key's state and returns the new state (undefined deletes
   * it). Throwing dead-letters this record only; its partial outputs are discarded.
   */
  process(record: InRecord<In>, state: S | undefined, out: Emitter): S | undefined;
}

interface Envelope<S> {
  /** null once the processor deleted the state; the watermark is kept until the TTL. */
  s: S | null;
  /** partition -> last applied offset */
  wm: Record<string, string>;
}

export function keyedHandler<In, S>(
  processor: KeyedProcessor<In, S>,
  store: StateStore,
): BatchHandler<In> {
  const storeKey = (key: string) => `${processor.name}:${key}`;

  return async (records: InRecord<In>[], ctx: BatchContext): Promise<BatchOutcome> => {
    const keys = new Map<InRecord<In>, string | null>();
    const distinct = new Set<string>();
    for (const record of records) {
      if (record.value === null) continue;
      let key: string | null;
      try {
        key = processor.stateKey(record.value);
      } catch (err) {
        ctx.deadLetter(record, `cannot derive state key: ${(err as Error).message}`);
        continue;
      }
      keys.set(record, key);
      if (key !== null) distinct.add(key);
    }

    const keyList = [...distinct];
    const loaded = await store.getMany(keyList.map(storeKey));
    const states = new Map<string, Envelope<S> | undefined>();
    keyList.forEach((key, i) => states.set(key, parseEnvelope<S>(loaded[i])));
    const dirty = new Set<string>();

    for (const [record, key] of keys) {
      const envelope = key === null ? undefined : states.get(key);
      const applied = envelope?.wm[String(record.partition)];
      if (applied !== undefined && BigInt(record.offset) <= BigInt(applied)) continue;
      const mark = ctx.out.length;
      let next: S | undefined;
      try {
        next = processor.process(record, envelope?.s ?? undefined, ctx.out);
      } catch (err) {
        ctx.out.truncate(mark);
        ctx.deadLetter(record, `processing failed in ${processor.name}: ${(err as Error).message}`);
        continue;
      }
      if (key === null) continue;
      const wm = { ...(envelope?.wm ?? {}), [String(record.partition)]: record.offset };
      states.set(key, { s: next ?? null, wm });
      dirty.add(key);
    }

    return {
      persist: async () => {
        const writes: StateWrite[] = [...dirty].map((key) => {
          return {
            key: storeKey(key),
            value: JSON.stringify(states.get(key)),
            ttlMs: processor.stateTtlMs,
          };
        });
        await store.setMany(writes);
      },
    };
  };
}

function parseEnvelope<S>(raw: string | null): Envelope<S> | undefined {
  if (raw === null) return undefined;
  try {
    const parsed = JSON.parse(raw) as Envelope<S>;
    return parsed && typeof parsed === 'object' && 'wm' in parsed ? parsed : undefined;
  } catch {
    return undefined; // unreadable state is treated as none rather than blocking the partition
  }
}
