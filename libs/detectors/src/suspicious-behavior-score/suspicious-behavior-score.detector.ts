/**
 * Suspicious behavior score: how unlike the application's normal sessions a session behaves,
 * under a model learned continuously from the traffic itself (see behavior-model.ts):
 *
 * - how unlikely the session's sequence of endpoints is under the learned transition model
 *   (mean surprise per step, in nats), and
 * - how far out its feature vector lies (rate, pacing regularity, interval, share of unique
 *   endpoints, of errors, of 404s, of failed logins, bytes per response), each against its
 *   learned distribution.
 *
 * The score is the sum of the features' outlier scores (the transition surprise is one of them,
 * judged against the mean surprise of normal sessions): per group of related features, the
 * largest −ln tail-probability, summed over groups. Its own learned distribution over clean
 * sessions sets the threshold: the 99th percentile × 1.25 within [27, 30] nats (prior 30 until
 * enough sessions were learned). The score is in units of probability under the site's own
 * model, so the prior is meaningful on any site, and learning may only make it stricter: a site
 * whose traffic is mostly bots cannot teach the detector a more lenient threshold. A session is judged from
 * `minRequests` requests on, once the model has learned `minModelSteps` steps; a vote names the
 * most unusual transitions and features.
 *
 * Learning (poisoning resistance): only sessions that reached max(`learnAfter`, `minRequests`)
 * requests and were not flagged (judged clean there, once the model judges) teach, at most `maxStepsPerSession` steps each and features at checkpoints of their
 * length (log2(n) values), and at most `learnPerIp` sessions per client IP and day.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Evidence, SessionEvent } from '@moat/contracts';
import {
  describeThreshold,
  isLearningCheckpoint,
  refineThreshold,
  round,
  takeLearningQuota,
  type BaselineView,
  type LearningQuota,
  type MetricSpec,
  type Observation,
  type Threshold,
} from '@moat/baselines';
import { defineDetector } from '../detector';
import { castVote, type VoteMemory } from '../support/vote-policy';
import { LEARNING_EPOCH_MS } from '../support/learning';
import { withSlot, type Slot } from '../support/session-slots';
import { endpointOf } from '../support/endpoint-excess';
import {
  distribution,
  featureSurprise,
  learnedSteps,
  median,
  START,
  stepProbability,
  transitionKey,
  transitionObservations,
  type Tail,
} from './behavior-model';

export const SuspiciousBehaviorScoreConfig = Type.Object(
  {
    /** Requests a session needs before it is judged. */
    minRequests: Type.Integer({ minimum: 2, default: 10 }),
    /** Steps the application's transition model needs before any session is judged. */
    minModelSteps: Type.Integer({ minimum: 1, default: 2_000 }),
    /** Sessions a feature's distribution needs before it counts. */
    minBaselineSessions: Type.Integer({ minimum: 1, default: 200 }),
    /** Score threshold: prior, then learned quantile × factor within [floor, ceiling]. */
    prior: Type.Number({ exclusiveMinimum: 0, default: 30 }),
    quantile: Type.Number({ minimum: 0.5, maximum: 1, default: 0.99 }),
    factor: Type.Number({ minimum: 1, default: 1.25 }),
    floor: Type.Number({ exclusiveMinimum: 0, default: 27 }),
    ceiling: Type.Number({ exclusiveMinimum: 0, default: 30 }),
    /** Transition model smoothing (Dirichlet weight of the arrival distribution). */
    smoothing: Type.Number({ exclusiveMinimum: 0, default: 2 }),
    vocabulary: Type.Integer({ minimum: 1, default: 512 }),
    /** Learning: length before a session teaches, its step budget, sessions per IP and day. */
    learnAfter: Type.Integer({ minimum: 2, default: 10 }),
    maxStepsPerSession: Type.Integer({ minimum: 1, default: 32 }),
    learnPerIp: Type.Integer({ minimum: 0, default: 8 }),
    repeatVoteMs: Type.Integer({ minimum: 0, default: 60_000 }),
    sessionTtlMs: Type.Integer({ minimum: 60_000, default: 3_600_000 }),
  },
  { additionalProperties: false },
);
export type SuspiciousBehaviorScoreConfig = Static<typeof SuspiciousBehaviorScoreConfig>;

/**
 * The session features the model scores, which tails are unusual, and each one's smallest
 * meaningful difference (the extrapolation scale beyond the learned quantiles).
 */
export const FEATURES: readonly {
  name: string;
  /**
   * Features of one group measure one trait (pacing, breadth, failures) and move together: a
   * group adds its most unusual feature to the score, not their sum, so one trait is not counted
   * three times (a polling browser tab is regular in rate, interval and spread at once).
   */
  group: string;
  tail: Tail;
  scale: number;
  value: (e: SessionEvent, s: SessionModel) => number | undefined;
}[] = [
  {
    name: 'transition_surprise',
    group: 'sequence',
    tail: 'upper',
    scale: 0.5,
    value: (_e, s) => (s.t > 0 ? s.nll / s.t : undefined),
  },
  {
    name: 'requests_per_minute',
    group: 'pacing',
    tail: 'both',
    scale: 2,
    value: (e) => (e.session.requestCount * 60_000) / Math.max(60_000, e.session.durationMs),
  },
  {
    name: 'interval_cv',
    group: 'pacing',
    tail: 'both',
    scale: 0.1,
    value: (e) => e.session.intervalCv,
  },
  {
    name: 'mean_interval_ms',
    group: 'pacing',
    tail: 'both',
    scale: 500,
    value: (e) => e.session.meanIntervalMs,
  },
  {
    name: 'unique_endpoint_share',
    group: 'breadth',
    tail: 'both',
    scale: 0.05,
    value: (e) => e.session.uniqueRoutes / e.session.requestCount,
  },
  {
    name: 'top_endpoint_share',
    group: 'breadth',
    tail: 'upper',
    scale: 0.05,
    value: (_e, s) => (s.n > 0 ? Math.max(0, ...Object.values(s.ep)) / s.n : undefined),
  },
  {
    name: 'error_share',
    group: 'failures',
    tail: 'upper',
    scale: 0.05,
    value: (e) => e.session.errorResponses / e.session.requestCount,
  },
  {
    name: 'not_found_share',
    group: 'failures',
    tail: 'upper',
    scale: 0.05,
    value: (e) => (e.session.notFoundResponses ?? 0) / e.session.requestCount,
  },
  {
    name: 'auth_failure_share',
    group: 'failures',
    tail: 'upper',
    scale: 0.05,
    value: (e) => e.session.authFailures / e.session.requestCount,
  },
  {
    name: 'bytes_per_response',
    group: 'volume',
    tail: 'both',
    scale: 1_000,
    value: (e) => e.session.bytesOut / e.session.requestCount,
  },
];

const featureMetric = (name: string) => `f:${name}`;

/** What the detector keeps per session (per client IP, a few sessions). */
export interface SessionModel extends VoteMemory {
  /** Endpoint of the session's previous request seen here. */
  last?: string;
  /** Requests seen here; steps scored; their summed surprise (nats). */
  n: number;
  t: number;
  nll: number;
  /** Requests per endpoint seen here (the first MAX_ENDPOINTS endpoints). */
  ep: Record<string, number>;
  /** The most surprising steps: [transition, surprise, learned count]. */
  top: [string, number, number][];
  /** Steps waiting for the session to reach learnAfter before they are taught. */
  buf?: [string, string][];
  /** Steps taught; whether the session was granted a learning slot. */
  taught: number;
  teach?: boolean;
  /** Latest and highest score once judged (read by the evaluation script). */
  score?: number;
  peak?: number;
}

export interface SuspiciousBehaviorScoreState {
  sessions: Slot<SessionModel>[];
  quota?: LearningQuota;
}

const TOP = 3;
const MAX_ENDPOINTS = 16;

export const suspiciousBehaviorScoreDetector = defineDetector<
  SuspiciousBehaviorScoreState,
  typeof SuspiciousBehaviorScoreConfig
>({
  id: 'suspicious-behavior-score',
  summary:
    "Unlikeliness of a session's endpoint sequence and features under the learned model of normal sessions",
  configSchema: SuspiciousBehaviorScoreConfig,
  baseline: {
    metrics: {
      transition: { perEndpoint: true, min: 1, max: 1 },
      departure: { perEndpoint: true, min: 1, max: 1 },
      arrival: { perEndpoint: true, min: 1, max: 1 },
      session_score: { max: 30 },
      ...Object.fromEntries(FEATURES.map((f) => [featureMetric(f.name), {} satisfies MetricSpec])),
    },
    // Endpoints and transitions share the per-shard budget of scopes.
    maxEndpoints: 4_096,
  },
  stateKey: (event) => event.request.ip,
  stateTtlMs: (config) => Math.max(config.sessionTtlMs * 2, 86_400_000),

  evaluate({ event, state, baseline, config }) {
    const ts = event.request.ts;
    const to = endpointOf(event);
    const ready = baseline !== undefined && learnedSteps(baseline) >= config.minModelSteps;
    const live = (state?.sessions ?? []).filter((s) => ts - s.lastTs < config.sessionTtlMs);
    const { slots, slot } = withSlot<SessionModel>(
      live,
      event.sessionId,
      ts,
      () => ({ n: 0, t: 0, nll: 0, ep: {}, top: [], taught: 0 }),
      (data) => ({ ...data, ep: { ...data.ep } }),
    );
    const s = slot.data;
    // The step into this request: from the previous one seen here, or from the session start.
    const from = s.last ?? (event.session.requestCount === 1 ? START : undefined);
    s.n += 1;
    s.last = to;
    if (to in s.ep || Object.keys(s.ep).length < MAX_ENDPOINTS) s.ep[to] = (s.ep[to] ?? 0) + 1;
    if (from !== undefined && ready) {
      const step = stepProbability(baseline, from, to, config);
      s.t += 1;
      s.nll += step.surprise;
      s.top = [
        ...s.top,
        [transitionKey(from, to), round(step.surprise, 3), step.seen] as [string, number, number],
      ]
        .sort((a, b) => b[1] - a[1])
        .slice(0, TOP);
    }

    let vote;
    let judged: Judgement | undefined;
    if (ready && s.n >= config.minRequests) {
      judged = judge(event, s, baseline, config);
      s.score = round(judged.score, 3);
      s.peak = Math.max(s.peak ?? 0, s.score);
      const verdict = judged.score > judged.threshold.value ? 'bot' : 'clean';
      const cast = castVote(s, verdict, ts, config.repeatVoteMs, () => ({
        score: Math.min(1, judged!.score / (2 * judged!.threshold.value)),
        evidence: explain(s, judged!),
      }));
      Object.assign(s, cast.memory);
      vote = cast.vote;
    }

    // Learning: sessions that reached learnAt requests, were judged clean there (when the model
    // judges) and were granted a slot of their IP's quota.
    const learnAt = Math.max(config.learnAfter, config.minRequests);
    const observations: Observation[] = [];
    let quota = state?.quota;
    const flagged = s.lastVerdict === 'bot';
    if (
      !flagged &&
      from !== undefined &&
      s.taught + (s.buf?.length ?? 0) < config.maxStepsPerSession
    ) {
      if (s.n < learnAt) s.buf = [...(s.buf ?? []), [from, to]];
      else if (s.teach) {
        observations.push(...transitionObservations(from, to));
        s.taught += 1;
      }
    }
    if (!flagged && s.n === learnAt && s.teach === undefined) {
      const taken = takeLearningQuota(quota, ts, {
        epochMs: LEARNING_EPOCH_MS,
        perEpoch: config.learnPerIp,
      });
      quota = taken.quota;
      s.teach = taken.granted;
      if (taken.granted) {
        for (const [f, t] of s.buf ?? []) observations.push(...transitionObservations(f, t));
        s.taught += s.buf?.length ?? 0;
        if (from !== undefined && s.taught < config.maxStepsPerSession) {
          observations.push(...transitionObservations(from, to));
          s.taught += 1;
        }
      }
    }
    if (s.n >= learnAt) delete s.buf;
    if (!flagged && s.teach && isLearningCheckpoint(s.n, learnAt)) {
      for (const f of FEATURES) {
        if (f.name === 'transition_surprise' && !ready) continue; // a cold model's surprise
        const value = f.value(event, s);
        if (value !== undefined && Number.isFinite(value) && value >= 0)
          observations.push({ metric: featureMetric(f.name), value });
      }
      if (judged && judged.complete && judged.score <= judged.threshold.value)
        observations.push({ metric: 'session_score', value: judged.score });
    }
    if (flagged) delete s.buf;

    return {
      state: { sessions: slots, ...(quota && { quota }) },
      vote,
      observations: observations.length > 0 ? observations : undefined,
    };
  },
});

interface FeatureScore {
  name: string;
  value: number;
  surprise: number;
  median: number;
}

interface Judgement {
  score: number;
  threshold: Threshold;
  features: FeatureScore[];
  /** Every feature had a learned distribution (only then is the score itself learned). */
  complete: boolean;
}

function judge(
  event: SessionEvent,
  s: SessionModel,
  baseline: BaselineView,
  config: SuspiciousBehaviorScoreConfig,
): Judgement {
  const features: FeatureScore[] = [];
  let complete = true;
  const groups = new Map<string, number>();
  for (const f of FEATURES) {
    const value = f.value(event, s);
    if (value === undefined || !Number.isFinite(value)) continue;
    const d = distribution(baseline, featureMetric(f.name), config.minBaselineSessions);
    if (!d) {
      complete = false;
      continue;
    }
    const surprise = featureSurprise(d, value, f.tail, f.scale);
    groups.set(f.group, Math.max(groups.get(f.group) ?? 0, surprise));
    features.push({ name: f.name, value, surprise, median: median(d) });
  }
  const score = [...groups.values()].reduce((sum, x) => sum + x, 0);
  const threshold = refineThreshold(baseline, {
    metric: 'session_score',
    prior: config.prior,
    quantile: config.quantile,
    factor: config.factor,
    min: config.floor,
    max: config.ceiling,
    minObservations: config.minBaselineSessions,
  });
  return { score, threshold, features, complete };
}

function explain(s: SessionModel, j: Judgement): Evidence[] {
  const out: Evidence[] = [
    {
      metric: 'behavior_score',
      value: round(j.score, 3),
      threshold: round(j.threshold.value, 3),
      ...(j.threshold.baseline !== undefined && { baseline: j.threshold.baseline }),
      detail: `sum over feature groups of the most unusual feature's outlier score (nats), ${s.n} requests; ${describeThreshold(j.threshold)}`,
    },
  ];
  for (const f of [...j.features].sort((a, b) => b.surprise - a.surprise).slice(0, TOP)) {
    out.push({
      metric: `feature:${f.name}`,
      value: round(f.value, 4),
      baseline: round(f.median, 4),
      detail: `outlier score ${round(f.surprise, 2)} nats (tail probability ${Math.exp(-f.surprise).toPrecision(2)}); baseline is the learned median`,
    });
  }
  for (const [transition, surprise, seen] of s.top) {
    out.push({
      metric: 'unusual_transition',
      value: round(surprise, 3),
      detail:
        `${transition}: probability ${Math.exp(-surprise).toPrecision(2)} under the learned model (seen ${seen} times in normal sessions)`.slice(
          0,
          1024,
        ),
    });
  }
  return out;
}
