/**
 * The shared judgement of the per-request resource detectors (response time anomaly, excessive
 * request consumption): one metric of every request (latency, request bytes) against the learned
 * tail of that metric on the request's endpoint (method + route template). A client is flagged
 * when, within an event-time window, its requests keep exceeding their endpoints' thresholds —
 * one slow export or one large upload is what people do; dozens are what scripts do.
 *
 * Learning (poisoning resistance): a session teaches each endpoint once (its first request
 * there), only values within the current threshold (a flood of outliers never teaches that
 * outliers are normal), only while the client is not flagged, and at most `learnPerIp`
 * observations per client IP and day. Thresholds come from `refineThreshold`: a prior until the
 * endpoint has `minBaselineRequests` observations, then quantile × factor within [floor, ceiling].
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Evidence, SessionEvent } from '@moat/contracts';
import {
  describeThreshold,
  refineThreshold,
  round,
  takeLearningQuota,
  type BaselineView,
  type LearningQuota,
  type Observation,
  type Threshold,
} from '@moat/baselines';
import type { Evaluation } from '../detector';
import { castVote, type VoteMemory } from './vote-policy';
import { LEARNING_EPOCH_MS } from './learning';

/** Config fields shared by both detectors; each sets its own defaults. */
export function endpointExcessConfig(defaults: {
  prior: number;
  quantile: number;
  factor: number;
  floor: number;
  ceiling: number;
  minExcessive: number;
}) {
  return Type.Object(
    {
      /** Threshold of an endpoint until enough of it was learned. */
      prior: Type.Number({ exclusiveMinimum: 0, default: defaults.prior }),
      /** Learned threshold = quantile × factor of the endpoint's distribution, in [floor, ceiling]. */
      quantile: Type.Number({ minimum: 0.5, maximum: 1, default: defaults.quantile }),
      factor: Type.Number({ minimum: 1, default: defaults.factor }),
      floor: Type.Number({ exclusiveMinimum: 0, default: defaults.floor }),
      ceiling: Type.Number({ exclusiveMinimum: 0, default: defaults.ceiling }),
      /** Observations an endpoint needs before its learned distribution is used. */
      minBaselineRequests: Type.Integer({ minimum: 1, default: 50 }),
      /** Excessive requests within the window that make a client a bot. */
      minExcessive: Type.Integer({ minimum: 1, default: defaults.minExcessive }),
      /** ...and the share of the client's requests in the window they must make up. */
      minShare: Type.Number({ minimum: 0, maximum: 1, default: 0.2 }),
      /** Requests a client must have sent in the window before it is judged clean. */
      minRequests: Type.Integer({ minimum: 1, default: 5 }),
      windowMs: Type.Integer({ minimum: 60_000, default: 3_600_000 }),
      /** Observations one client IP may teach per day. */
      learnPerIp: Type.Integer({ minimum: 0, default: 16 }),
      repeatVoteMs: Type.Integer({ minimum: 0, default: 60_000 }),
    },
    { additionalProperties: false },
  );
}
export type EndpointExcessConfig = Static<ReturnType<typeof endpointExcessConfig>>;

/** The most excessive request of the window, for the evidence. */
export interface WorstRequest {
  endpoint: string;
  value: number;
  threshold: number;
  baseline?: number;
  source: string;
}

export interface EndpointExcessState extends VoteMemory {
  windowStart: number;
  /** Requests and excessive requests in the window. */
  n: number;
  excessive: number;
  worst?: WorstRequest;
  /** The current session and the endpoints it already taught (bounded). */
  session?: string;
  taught?: string[];
  quota?: LearningQuota;
}

export interface EndpointExcessSpec {
  metric: string;
  /** The request's value of the metric. */
  value: (event: SessionEvent) => number;
  /** Evidence metric name and how to print a value (e.g. "41,200 ms"). */
  evidenceMetric: string;
  format: (value: number) => string;
}

const MAX_TAUGHT = 32;

/** The endpoint of a request: method and route template without the query. */
export function endpointOf(event: SessionEvent): string {
  return `${event.request.method} ${event.route.split('?')[0]}`;
}

export function endpointThreshold(
  baseline: BaselineView | undefined,
  spec: Pick<EndpointExcessSpec, 'metric'>,
  config: EndpointExcessConfig,
  endpoint: string,
): Threshold {
  return refineThreshold(baseline, {
    metric: spec.metric,
    endpoint,
    prior: config.prior,
    quantile: config.quantile,
    factor: config.factor,
    min: config.floor,
    max: config.ceiling,
    minObservations: config.minBaselineRequests,
  });
}

export function evaluateEndpointExcess(
  spec: EndpointExcessSpec,
  input: {
    event: SessionEvent;
    state: EndpointExcessState | undefined;
    baseline: BaselineView | undefined;
    config: EndpointExcessConfig;
  },
): Evaluation<EndpointExcessState> {
  const { event, state, baseline, config } = input;
  const ts = event.request.ts;
  const endpoint = endpointOf(event);
  const value = spec.value(event);
  const threshold = endpointThreshold(baseline, spec, config, endpoint);
  const excessive = value > threshold.value;

  const fresh = !state || ts - state.windowStart >= config.windowMs || ts < state.windowStart;
  const n = (fresh ? 0 : state.n) + 1;
  const count = (fresh ? 0 : state.excessive) + (excessive ? 1 : 0);
  let worst = fresh ? undefined : state.worst;
  if (excessive && (!worst || value / threshold.value > worst.value / worst.threshold)) {
    worst = {
      endpoint,
      value: round(value, 2),
      threshold: round(threshold.value, 2),
      ...(threshold.baseline !== undefined && { baseline: threshold.baseline }),
      source: describeThreshold(threshold, 'requests'),
    };
  }
  const next: EndpointExcessState = {
    windowStart: fresh ? ts : state.windowStart,
    n,
    excessive: count,
    ...(worst && { worst }),
  };

  const share = count / n;
  const verdict =
    count >= config.minExcessive && share >= config.minShare
      ? 'bot'
      : n >= config.minRequests
        ? 'clean'
        : undefined;
  const cast = castVote(state ?? {}, verdict, ts, config.repeatVoteMs, () => ({
    score: Math.min(1, count / (2 * config.minExcessive)) + 0.5 * Math.min(1, share),
    evidence: evidence(spec, config, count, n, share, worst),
  }));
  Object.assign(next, cast.memory);

  // Learning: the session's first request to the endpoint, within the threshold, not flagged.
  const sameSession = state?.session === event.sessionId;
  const taught = sameSession ? (state?.taught ?? []) : [];
  next.session = event.sessionId;
  next.taught = taught;
  let quota = state?.quota;
  let observations: Observation[] | undefined;
  if (
    !excessive &&
    next.lastVerdict !== 'bot' &&
    !taught.includes(endpoint) &&
    taught.length < MAX_TAUGHT &&
    Number.isFinite(value)
  ) {
    const taken = takeLearningQuota(quota, ts, {
      epochMs: LEARNING_EPOCH_MS,
      perEpoch: config.learnPerIp,
    });
    quota = taken.quota;
    if (taken.granted) {
      observations = [{ metric: spec.metric, value, endpoint }];
      next.taught = [...taught, endpoint];
    }
  }
  if (quota) next.quota = quota;
  return { state: next, vote: cast.vote, observations };
}

function evidence(
  spec: EndpointExcessSpec,
  config: EndpointExcessConfig,
  count: number,
  n: number,
  share: number,
  worst: WorstRequest | undefined,
): Evidence[] {
  const out: Evidence[] = [
    {
      metric: spec.evidenceMetric,
      value: count,
      threshold: config.minExcessive,
      detail: `${count} of ${n} requests in the window exceeded their endpoint's threshold (share ${round(share, 3)}, at least ${config.minShare} needed)`,
    },
  ];
  if (worst) {
    out.push({
      metric: `${spec.metric}_worst`,
      value: worst.value,
      threshold: worst.threshold,
      ...(worst.baseline !== undefined && { baseline: worst.baseline }),
      detail:
        `${worst.endpoint}: ${spec.format(worst.value)} against ${spec.format(worst.threshold)} (${worst.source})`.slice(
          0,
          1024,
        ),
    });
  }
  return out;
}
