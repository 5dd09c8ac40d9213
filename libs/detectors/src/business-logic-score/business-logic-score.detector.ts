/**
 * Business logic score: use of an application's critical endpoints — sign-in, sign-up,
 * password reset, checkout, payment, coupons, export — against their normal use. A person signs
 * in once, checks out once, tries a coupon or two; a script creates accounts, tries coupon
 * codes or exports data in a loop. Per client IP and event-time window (one hour from the
 * window's first request; counting per client rather than per session, because a script that
 * drops its cookies starts a new session every call) the detector counts calls to each
 * critical endpoint, and votes `bot` when one endpoint's count reaches its threshold (prior 10)
 * while critical calls make up at least `minCriticalShare` of the client's requests (a heavy
 * but ordinary user does much else besides).
 *
 * Learns, per critical endpoint: the counts of clean clients at checkpoints of their request
 * count, only values under the prior; threshold = 2 × the 99.9th percentile within
 * [floor, ceiling] (so learning can at most double the prior).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { SessionEvent } from '@moat/contracts';
import {
  describeThreshold,
  isLearningCheckpoint,
  refineThreshold,
  round,
  type LearningQuota,
  type Observation,
} from '@moat/baselines';
import { defineDetector } from '../detector';
import { castVote, type VoteMemory } from '../support/vote-policy';
import { learnWithQuota } from '../support/learning';

export const DEFAULT_CRITICAL_ROUTES =
  '(^|[/_-])(login|log-in|signin|sign-in|signup|sign-up|register|registration|password|reset|forgot|otp|mfa|2fa|verify|checkout|payments?|pay|coupons?|vouchers?|promo|gift-?cards?|redeem|transfers?|withdraw|export|download)([/_-]|$)';

export const BusinessLogicScoreConfig = Type.Object(
  {
    /** Route templates that are critical (case-insensitive regular expression). */
    criticalRoutes: Type.String({ minLength: 1, default: DEFAULT_CRITICAL_ROUTES }),
    /** Methods whose calls to a critical route count; reads of exports count too. */
    criticalMethods: Type.Array(Type.String(), {
      default: ['POST', 'PUT', 'PATCH', 'DELETE'],
    }),
    /** Critical routes whose GETs count as well (bulk reads). */
    criticalReads: Type.String({ default: '(^|/)(export|download)(/|$)' }),
    threshold: Type.Integer({ minimum: 1, default: 10 }),
    floor: Type.Integer({ minimum: 1, default: 6 }),
    ceiling: Type.Integer({ minimum: 1, default: 20 }),
    windowMs: Type.Integer({ minimum: 60_000, default: 3_600_000 }),
    minCriticalShare: Type.Number({ minimum: 0, maximum: 1, default: 0.25 }),
    minBaselineSessions: Type.Integer({ minimum: 1, default: 100 }),
    learnAfter: Type.Integer({ minimum: 1, default: 5 }),
    repeatVoteMs: Type.Integer({ minimum: 0, default: 60_000 }),
  },
  { additionalProperties: false },
);
export type BusinessLogicScoreConfig = Static<typeof BusinessLogicScoreConfig>;

export interface BusinessLogicScoreState extends VoteMemory {
  /** Event time the current window started. */
  windowStart: number;
  /** Requests and critical calls in the window. */
  n: number;
  critical: number;
  /** endpoint -> calls in the window (at most MAX_ENDPOINTS endpoints). */
  calls: Record<string, number>;
  quota?: LearningQuota;
}

const patterns = new Map<string, RegExp>();
function pattern(source: string): RegExp {
  let re = patterns.get(source);
  if (!re) patterns.set(source, (re = new RegExp(source, 'i')));
  return re;
}

/** The critical endpoint a request calls (method + route), or undefined. */
export function criticalEndpoint(
  event: SessionEvent,
  config: Pick<BusinessLogicScoreConfig, 'criticalRoutes' | 'criticalMethods' | 'criticalReads'>,
): string | undefined {
  const route = event.route.split('?')[0];
  const method = event.request.method;
  if (!pattern(config.criticalRoutes).test(route)) return undefined;
  const counts =
    config.criticalMethods.includes(method) ||
    (method === 'GET' && pattern(config.criticalReads).test(route));
  return counts ? `${method} ${route}` : undefined;
}

const MAX_ENDPOINTS = 16;

export const businessLogicScoreDetector = defineDetector<
  BusinessLogicScoreState,
  typeof BusinessLogicScoreConfig
>({
  id: 'business-logic-score',
  summary:
    'Use of critical endpoints (sign-in, sign-up, checkout, coupons, export) against normal use',
  configSchema: BusinessLogicScoreConfig,
  baseline: { metrics: { critical_calls: { perEndpoint: true, max: 1_000 } } },
  stateKey: (event) => event.request.ip,
  stateTtlMs: (config) => config.windowMs * 2,

  evaluate({ event, state, baseline, config }) {
    const ts = event.request.ts;
    const endpoint = criticalEndpoint(event, config);
    const fresh = !state || ts - state.windowStart >= config.windowMs;
    const base = fresh
      ? { windowStart: ts, n: 0, critical: 0, calls: {} as Record<string, number> }
      : state;
    const calls = { ...base.calls };
    if (endpoint && (endpoint in calls || Object.keys(calls).length < MAX_ENDPOINTS))
      calls[endpoint] = (calls[endpoint] ?? 0) + 1;
    const next: BusinessLogicScoreState = {
      ...(state?.lastVerdict !== undefined && { lastVerdict: state.lastVerdict }),
      ...(state?.lastVoteAt !== undefined && { lastVoteAt: state.lastVoteAt }),
      ...(state?.quota && { quota: state.quota }),
      windowStart: base.windowStart,
      n: base.n + 1,
      critical: base.critical + (endpoint ? 1 : 0),
      calls,
    };
    const use = next;
    const thresholdOf = (e: string) =>
      refineThreshold(baseline, {
        metric: 'critical_calls',
        endpoint: e,
        prior: config.threshold,
        quantile: 0.999,
        factor: 2,
        min: config.floor,
        max: config.ceiling,
        minObservations: config.minBaselineSessions,
      });

    let vote;
    if (endpoint) {
      const count = use.calls[endpoint] ?? 0;
      const share = use.critical / use.n;
      const threshold = thresholdOf(endpoint);
      const verdict =
        count >= threshold.value && share >= config.minCriticalShare ? 'bot' : 'clean';
      const cast = castVote(state ?? {}, verdict, ts, config.repeatVoteMs, () => ({
        score: Math.min(1, count / threshold.value) * Math.min(1, share / config.minCriticalShare),
        evidence: [
          {
            metric: 'critical_endpoint_calls',
            value: count,
            threshold: Math.round(threshold.value),
            ...(threshold.baseline !== undefined && { baseline: threshold.baseline }),
            detail: `${endpoint}; ${describeThreshold(threshold)}`,
          },
          {
            metric: 'critical_share_of_session',
            value: round(share),
            threshold: config.minCriticalShare,
            detail: `${use.critical} of ${use.n} requests`,
          },
        ],
      }));
      Object.assign(next, cast.memory);
      vote = cast.vote;
    }

    let observations: Observation[] = [];
    if (next.lastVerdict !== 'bot' && isLearningCheckpoint(use.n, config.learnAfter)) {
      observations = Object.entries(use.calls)
        .filter(([, count]) => count < config.threshold)
        .map(([e, count]) => ({ metric: 'critical_calls', value: count, endpoint: e }));
    }
    const learn = learnWithQuota(state?.quota, ts, observations);
    if (learn.quota) next.quota = learn.quota;
    return { state: next, vote, observations: learn.observations };
  },
});
