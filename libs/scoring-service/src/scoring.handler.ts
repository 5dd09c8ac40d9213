/**
 * The batch handler of the scoring service on moat.votes.v1: the score processor as a keyed
 * processor (state per subject in the state store), then the stream-time punctuation of the
 * batch's partition, then persistence of what the processor collected.
 *
 * Per batch: (1) every vote is scored (decisions emitted); (2) the partition's stream time
 * advances to the largest vote event time seen; (3) automatic decisions whose expiry it passed
 * are lifted with a tombstone, unless a manual entry now owns their key; (4) manual entries
 * whose expiry it passed are lifted too, and their config entries deleted; (5) after the
 * outputs are acknowledged, timers, registry records, statistics and stream time are written
 * (idempotent structures), then the keyed state with its watermarks, then the config
 * tombstones. A failure before the commit processes the batch again and writes the same result.
 */
import type { Vote } from '@moat/contracts';
import type { Logger } from '@moat/observability';
import {
  keyedHandler,
  type BatchHandler,
  type StateStore,
  type StructureStore,
  type StructureWrite,
} from '@moat/stream-kit';
import { dueExpiries } from './expiry';
import { ManualIndex } from './manual';
import type { BotRegistry } from './registry';
import type { ScoreProcessor } from './score.processor';
import type { Statistics } from './statistics';

export interface ScoringHandlerOptions {
  processor: ScoreProcessor;
  store: StateStore;
  structures: StructureStore;
  registry: BotRegistry;
  statistics: Statistics;
  /** Deletes config entries (expired manual entries); called after the outputs are acknowledged. */
  deleteConfig?: (keys: string[]) => Promise<void>;
  logger?: Logger;
  /** Most timers fired per batch (the rest fire with the next batch). */
  maxExpiriesPerBatch?: number;
}

const TIMER_TTL_MS = 400 * 86_400_000;

export const timersKey = (partition: number) => `scoring:expiries:${partition}`;
export const streamTimeKey = (partition: number) => `scoring:stream-time:${partition}`;

export function scoringHandler(options: ScoringHandlerOptions): BatchHandler<Vote> {
  const { processor, structures, registry, statistics } = options;
  const inner = keyedHandler(processor, options.store);
  const limit = options.maxExpiriesPerBatch ?? 5_000;
  /** Manual entries this instance already lifted; forgotten once their config entry is gone. */
  const lifted = new Set<string>();

  return async (records, ctx) => {
    const outcome = await inner(records, ctx);
    const side = processor.takeSideOutputs(ctx.out);
    const partition = records[0].partition;
    const policy = processor.currentPolicy;

    let batchTime = 0;
    for (const r of records) if (r.value && r.value.ts > batchTime) batchTime = r.value.ts;
    const [stored] = await structures.get([streamTimeKey(partition)]);
    const streamTime = Math.max(Number(stored ?? 0) || 0, batchTime);

    // Automatic decisions due at this stream time.
    const timers = await structures.zrangeByScore(timersKey(partition), 0, streamTime, limit);
    const due = dueExpiries(timers, side.timers, streamTime);
    for (const { member } of due) {
      if (policy.manual.owner(member)) continue; // the manual decision under this key stays
      ctx.out.emit('decisions', member, null);
    }

    // Manual entries past their expiry: lift the decision, then delete the entry.
    for (const key of lifted) if (!policyHasKey(policy.manual, key)) lifted.delete(key);
    const expiredManual = policy.manual
      .expiredBy(streamTime)
      .filter((e) => !lifted.has(ManualIndex.keyOf(e)));
    for (const entry of expiredManual) ctx.out.emit('decisions', entry.subject, null);

    const registryWrites = await registry.prepare([...side.bots.values()]);

    return {
      persist: async () => {
        const writes: StructureWrite[] = [];
        const schedule = [...side.timers].filter(
          (t): t is [string, number] => t[1] !== null && t[1] > streamTime,
        );
        if (schedule.length > 0) {
          writes.push({
            op: 'zadd',
            key: timersKey(partition),
            members: schedule.map(([member, score]) => ({ member, score })),
            ttlMs: TIMER_TTL_MS,
          });
        }
        const removed = [
          ...[...side.timers].filter(([, at]) => at === null).map(([member]) => member),
          ...due.map((t) => t.member),
        ];
        if (removed.length > 0) {
          writes.push({ op: 'zrem', key: timersKey(partition), members: removed });
        }
        writes.push(...registryWrites, ...statistics.writes(side.stats));
        writes.push({
          op: 'set',
          key: streamTimeKey(partition),
          value: String(streamTime),
          ttlMs: TIMER_TTL_MS,
        });
        await structures.write(writes);
        await outcome?.persist?.();
        if (expiredManual.length > 0) {
          const keys = expiredManual.map((e) => ManualIndex.keyOf(e));
          await options.deleteConfig?.(keys);
          for (const key of keys) lifted.add(key);
          options.logger?.info({ keys, streamTime }, 'manual entries expired and lifted');
        }
        if (due.length > 0) {
          options.logger?.debug({ partition, streamTime, lifted: due.length }, 'decisions expired');
        }
      },
    };
  };
}

function policyHasKey(manual: ManualIndex, key: string): boolean {
  return manual.owner(key.slice('manual-decision:'.length)) !== undefined;
}
