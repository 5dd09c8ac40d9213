/**
 * Request uniqueness: the share of unique requests among a session's recent requests, where a
 * request is not unique when it repeats an identical one (method, path and query) sent less
 * than `repeatWithinMs` before. People ask for different things; a script replays the same
 * request — a flood, a login form hammered, a coupon endpoint tried again and again. A page
 * polling every half minute is not replaying in that sense. Votes `bot` when, over the last
 * `window` requests of a session with at least `minRequests`, the unique share is at or below
 * the threshold (prior 10 %).
 *
 * Learns: the unique share of sessions it judged clean (and above the prior), per application,
 * at session checkpoints. Threshold = 0.5 × the 1st percentile, within [floor, ceiling].
 */
import { Type, type Static } from '@sinclair/typebox';
import type { SessionEvent } from '@moat/contracts';
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
import { fnv1a } from '../support/hash';

export const RequestUniquenessConfig = Type.Object(
  {
    /** Recent requests of a session the share is computed over. */
    window: Type.Integer({ minimum: 10, maximum: 500, default: 50 }),
    /** An identical request within this time is a replay. */
    repeatWithinMs: Type.Integer({ minimum: 1, default: 10_000 }),
    minRequests: Type.Integer({ minimum: 5, default: 30 }),
    /** Prior: distinct share at or under which a session is scripted. */
    threshold: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.1 }),
    floor: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.04 }),
    ceiling: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.2 }),
    minBaselineSessions: Type.Integer({ minimum: 1, default: 200 }),
    repeatVoteMs: Type.Integer({ minimum: 0, default: 60_000 }),
  },
  { additionalProperties: false },
);
export type RequestUniquenessConfig = Static<typeof RequestUniquenessConfig>;

interface SessionRequests {
  /** [fingerprint, event time, unique (1) or replay (0)] of the latest `window` requests. */
  recent: [number, number, 0 | 1][];
  n: number;
}

export interface RequestUniquenessState extends VoteMemory {
  sessions: Slot<SessionRequests>[];
  quota?: LearningQuota;
}

/** What makes two requests the same request: method, path and the query, order-insensitive. */
export function requestFingerprint(event: SessionEvent): number {
  const { method, path, query } = event.request;
  const q = Object.keys(query)
    .sort()
    .map((k) => `${k}=${query[k]}`)
    .join('&');
  return fnv1a(`${method} ${path}?${q}`);
}

export const requestUniquenessDetector = defineDetector<
  RequestUniquenessState,
  typeof RequestUniquenessConfig
>({
  id: 'request-uniqueness',
  summary: 'Share of unique requests (not quick replays) among a session’s recent requests',
  configSchema: RequestUniquenessConfig,
  baseline: { metrics: { unique_share: { max: 1 } } },
  stateKey: (event) => event.request.ip,
  stateTtlMs: () => 3_600_000,

  evaluate({ event, state, baseline, config }) {
    const ts = event.request.ts;
    const fingerprint = requestFingerprint(event);
    const { slots, slot } = withSlot<SessionRequests>(
      state?.sessions,
      event.sessionId,
      ts,
      () => ({ recent: [], n: 0 }),
      (s) => {
        const replay = s.recent.some(
          ([f, at]) => f === fingerprint && ts >= at && ts - at < config.repeatWithinMs,
        );
        const entry: [number, number, 0 | 1] = [fingerprint, ts, replay ? 0 : 1];
        return { recent: [...s.recent, entry].slice(-config.window), n: s.n + 1 };
      },
    );
    const next: RequestUniquenessState = { ...state, sessions: slots };
    const { recent, n } = slot.data;
    if (n < config.minRequests) return { state: next };

    const unique = recent.reduce((sum, [, , u]) => sum + u, 0);
    const share = unique / recent.length;
    const threshold = refineThreshold(baseline, {
      metric: 'unique_share',
      prior: config.threshold,
      quantile: 0.01,
      factor: 0.5,
      min: config.floor,
      max: config.ceiling,
      minObservations: config.minBaselineSessions,
    });
    const verdict = share <= threshold.value ? 'bot' : 'clean';
    const cast = castVote(state ?? {}, verdict, ts, config.repeatVoteMs, () => ({
      score: 1 - share,
      evidence: [
        {
          metric: 'unique_request_share',
          value: round(share),
          threshold: round(threshold.value),
          ...(threshold.baseline !== undefined && { baseline: threshold.baseline }),
          detail: `${unique} unique of the last ${recent.length} requests (replays within ${config.repeatWithinMs} ms); ${describeThreshold(threshold)}`,
        },
      ],
    }));
    Object.assign(next, cast.memory);
    const learn =
      verdict === 'clean' && share > config.threshold && isLearningCheckpoint(n, config.minRequests)
        ? learnWithQuota(state?.quota, ts, [{ metric: 'unique_share', value: share }])
        : { quota: state?.quota };
    if (learn.quota) next.quota = learn.quota;
    return { state: next, vote: cast.vote, observations: learn.observations };
  },
});
