/**
 * Hosts one pure detector module as a keyed processor on moat.events.v1: loads the subject's
 * state, hands the module its application's learned baseline, persists the new state, learns
 * what the module observed and publishes its vote on moat.votes.v1. The vote id derives from
 * detector and event, so a replayed event re-emits the same vote.
 */
import type { SessionEvent } from '@moat/contracts';
import type { BaselineView } from '@moat/baselines';
import type { AnyDetector } from '@moat/detectors';
import {
  keyedHandler,
  type BatchHandler,
  type Emitter,
  type InRecord,
  type KeyedProcessor,
  type StateStore,
} from '@moat/stream-kit';
import { BaselineBook, type BaselineBookOptions, type PendingObservations } from './baseline-book';

export class DetectorProcessor implements KeyedProcessor<SessionEvent, unknown> {
  readonly name: string;
  readonly stateTtlMs: number;
  /** Observations of the records processed so far in this batch. */
  readonly pending: PendingObservations[] = [];

  constructor(
    private readonly detector: AnyDetector,
    private readonly config: unknown,
    private readonly baselines: ReadonlyMap<string, BaselineView> = new Map(),
  ) {
    this.name = `det:${detector.id}`;
    this.stateTtlMs = detector.stateTtlMs(config);
  }

  stateKey(event: SessionEvent): string | null {
    return this.detector.stateKey(event);
  }

  process(record: InRecord<SessionEvent>, state: unknown, out: Emitter): unknown {
    const event = record.value!;
    const result = this.detector.evaluate({
      event,
      state,
      baseline: this.detector.baseline ? this.baselines.get(event.request.app) : undefined,
      config: this.config,
    });
    if (result.vote) {
      out.emit('votes', event.request.ip, {
        v: 1,
        id: `${this.detector.id}:${event.request.id}`,
        detector: this.detector.id,
        ts: event.request.ts,
        app: event.request.app,
        ip: event.request.ip,
        sessionId: event.sessionId,
        verdict: result.vote.verdict,
        score: result.vote.score,
        evidence: result.vote.evidence,
        eventId: event.request.id,
      });
    }
    // Last, so a record that failed above (and is dead-lettered) teaches nothing.
    if (this.detector.baseline && result.observations && result.observations.length > 0) {
      this.pending.push({
        app: event.request.app,
        partition: record.partition,
        offset: record.offset,
        ts: event.request.ts,
        observations: result.observations,
      });
    }
    return result.state;
  }
}

/**
 * The batch handler of one hosted detector: baselines are read before the batch and learned
 * after its outputs are acknowledged — baseline shards first, then the keyed state, so a crash
 * in between re-processes records whose observations the shard watermarks then ignore.
 */
export function detectorHandler(
  detector: AnyDetector,
  config: unknown,
  store: StateStore,
  options: BaselineBookOptions = {},
): BatchHandler<SessionEvent> {
  const book = detector.baseline
    ? new BaselineBook(detector.id, detector.baseline, store, options)
    : undefined;
  return async (records, ctx) => {
    let views: Map<string, BaselineView> | undefined;
    if (book) {
      const apps = new Set<string>();
      let highest = 0;
      for (const r of records) {
        if (r.value) apps.add(r.value.request.app);
        highest = Math.max(highest, r.partition);
      }
      views = await book.load([...apps], highest);
    }
    // A processor per batch: its pending observations belong to this batch only.
    const processor = new DetectorProcessor(detector, config, views);
    const outcome = await keyedHandler(processor, store)(records, ctx);
    return {
      persist: async () => {
        await book?.persist(processor.pending);
        await outcome?.persist?.();
      },
    };
  };
}
