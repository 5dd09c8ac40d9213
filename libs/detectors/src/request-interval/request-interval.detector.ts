/**
 * Request interval: missing randomness in the gaps between a session's requests. People read,
 * think and click in bursts, so their gaps vary widely (coefficient of variation well above 1);
 * a script sleeping a fixed time, even with jitter, does not. A GET that repeats one of the
 * session's recent reads (a page polling for notifications, a reload) is not measured: a
 * browser timer is regular whoever sits at it. The detector keeps the last
 * `window` gaps of each of the client's sessions and votes `bot` when, over at least
 * `minGaps` gaps, their coefficient of variation (stdev / mean) is below the threshold.
 *
 * Learns: the gap variation of sessions it judged clean, per application, one observation per
 * session checkpoint (minGaps, 2·minGaps, …). Threshold = 0.5 × the 1st percentile of that,
 * within [floor, ceiling]: a site whose own clients are regular makes it more lenient, never
 * below the floor; a site of bursty humans makes it stricter, never above the ceiling. Only
 * values at or above the prior are learned, so scripts just above the limit cannot drag it
 * down past half the prior.
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  describeThreshold,
  isLearningCheckpoint,
  refineThreshold,
  round,
  type LearningQuota,
} from '@moat/baselines';
import { defineDetector } from '../detector';
import { castVote, type VoteMemory } from '../support/vote-policy';
import { withSlot, type Slot } from '../support/session-slots';
import { learnWithQuota } from '../support/learning';
import { requestFingerprint } from '../request-uniqueness/request-uniqueness.detector';

const READS_KEPT = 16;

export const RequestIntervalConfig = Type.Object(
  {
    /** Gaps kept per session (the most recent). */
    window: Type.Integer({ minimum: 4, maximum: 200, default: 40 }),
    /** Gaps a session must show before it is judged. */
    minGaps: Type.Integer({ minimum: 3, default: 20 }),
    /** Prior: coefficient of variation of the gaps under which a session is scripted. */
    threshold: Type.Number({ exclusiveMinimum: 0, default: 0.2 }),
    floor: Type.Number({ exclusiveMinimum: 0, default: 0.08 }),
    ceiling: Type.Number({ exclusiveMinimum: 0, default: 0.3 }),
    /** Sessions learned before the baseline refines the prior. */
    minBaselineSessions: Type.Integer({ minimum: 1, default: 200 }),
    /** Gaps longer than this are a pause, not a rhythm, and are not counted. */
    maxGapMs: Type.Integer({ minimum: 1000, default: 600_000 }),
    repeatVoteMs: Type.Integer({ minimum: 0, default: 60_000 }),
  },
  { additionalProperties: false },
);
export type RequestIntervalConfig = Static<typeof RequestIntervalConfig>;

interface SessionGaps {
  /** Event time of the session's latest request; absent before its first. */
  lastTs?: number;
  /** The latest `window` gaps. */
  gaps: number[];
  /** Gaps measured in the session in all. */
  n: number;
  /** Fingerprints of the session's recent GET requests (to recognise a page's polling). */
  reads?: number[];
}

export interface RequestIntervalState extends VoteMemory {
  sessions: Slot<SessionGaps>[];
  quota?: LearningQuota;
}

export function coefficientOfVariation(values: readonly number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (mean === 0) return 0;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return Math.sqrt(variance) / mean;
}

export const requestIntervalDetector = defineDetector<
  RequestIntervalState,
  typeof RequestIntervalConfig
>({
  id: 'request-interval',
  summary: 'Missing randomness in the gaps between a session’s requests',
  configSchema: RequestIntervalConfig,
  baseline: { metrics: { gap_cv: { max: 20 } } },
  stateKey: (event) => event.request.ip,
  stateTtlMs: (config) => Math.max(config.maxGapMs * 2, 3_600_000),

  evaluate({ event, state, baseline, config }) {
    const ts = event.request.ts;
    const read = event.request.method === 'GET' ? requestFingerprint(event) : undefined;
    let gapAdded = false;
    const { slots, slot } = withSlot<SessionGaps>(
      state?.sessions,
      event.sessionId,
      ts,
      () => ({ gaps: [], n: 0 }),
      (s) => {
        const reads = read === undefined ? s.reads : [...(s.reads ?? []), read].slice(-READS_KEPT);
        if (s.lastTs === undefined) return { ...s, lastTs: ts, reads };
        if (ts < s.lastTs) return s; // a late event: no gap to measure
        // A read repeated from the session's recent reads is a page polling on a timer (or a
        // reload), whose clockwork says nothing about who is at the keyboard: not measured.
        if (read !== undefined && s.reads?.includes(read)) return { ...s, reads };
        const gap = ts - s.lastTs;
        if (gap > config.maxGapMs) return { ...s, lastTs: ts };
        gapAdded = true;
        return { lastTs: ts, gaps: [...s.gaps, gap].slice(-config.window), n: s.n + 1, reads };
      },
    );
    const next: RequestIntervalState = { ...state, sessions: slots };
    const gaps = slot.data.gaps;
    if (!gapAdded || gaps.length < config.minGaps) return { state: next };

    const cv = coefficientOfVariation(gaps);
    const threshold = refineThreshold(baseline, {
      metric: 'gap_cv',
      prior: config.threshold,
      quantile: 0.01,
      factor: 0.5,
      min: config.floor,
      max: config.ceiling,
      minObservations: config.minBaselineSessions,
    });
    const verdict = cv < threshold.value ? 'bot' : 'clean';
    const cast = castVote(state ?? {}, verdict, ts, config.repeatVoteMs, () => ({
      score: 1 - cv / threshold.value,
      evidence: [
        {
          metric: 'gap_coefficient_of_variation',
          value: round(cv),
          threshold: round(threshold.value),
          ...(threshold.baseline !== undefined && { baseline: threshold.baseline }),
          detail: `${gaps.length} gaps, mean ${Math.round(gaps.reduce((a, b) => a + b, 0) / gaps.length)} ms; ${describeThreshold(threshold)}`,
        },
      ],
    }));
    Object.assign(next, cast.memory);
    const learn =
      verdict === 'clean' &&
      cv >= config.threshold &&
      isLearningCheckpoint(slot.data.n, config.minGaps)
        ? learnWithQuota(state?.quota, ts, [{ metric: 'gap_cv', value: cv }])
        : { quota: state?.quota };
    if (learn.quota) next.quota = learn.quota;
    return { state: next, vote: cast.vote, observations: learn.observations };
  },
});
