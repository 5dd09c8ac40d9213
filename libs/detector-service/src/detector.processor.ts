/**
 * Hosts one pure detector module as a keyed processor on moat.events.v1: loads the subject's
 * state, calls the module, persists the new state and publishes its vote on moat.votes.v1.
 * The vote id derives from detector and event, so a replayed event re-emits the same vote.
 */
import type { SessionEvent } from '@moat/contracts';
import type { AnyDetector } from '@moat/detectors';
import type { Emitter, InRecord, KeyedProcessor } from '@moat/stream-kit';

export class DetectorProcessor implements KeyedProcessor<SessionEvent, unknown> {
  readonly name: string;
  readonly stateTtlMs: number;

  constructor(
    private readonly detector: AnyDetector,
    private readonly config: unknown,
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
      baseline: undefined,
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
    return result.state;
  }
}
