/**
 * Query abuse: the volume of requests to one endpoint that vary one parameter and nothing else —
 * pagination walked to the end, ids enumerated, a search term brute-forced. For each endpoint
 * of a session the detector keeps the previous request's parameters; a request that changes
 * exactly one of them counts one variation of that parameter. It votes `bot` when a session's
 * variations of one (endpoint, parameter) reach the endpoint's threshold (prior 60).
 *
 * Learns, per endpoint: the largest variation count of clean sessions at session checkpoints,
 * only values under the prior (so bots creeping up under the limit cannot ratchet it up: the
 * learned limit is at most 2 × the prior). Threshold = 2 × its 99.9th percentile within
 * [floor, ceiling]: a search endpoint people page through a lot earns a higher limit, a detail
 * endpoint a lower one.
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  describeThreshold,
  isLearningCheckpoint,
  refineThreshold,
  type LearningQuota,
  type Observation,
} from '@moat/baselines';
import { defineDetector } from '../detector';
import { castVote, type VoteMemory } from '../support/vote-policy';
import { withSlot, type Slot } from '../support/session-slots';
import { learnWithQuota } from '../support/learning';
import { requestParameters } from '../support/route-params';

export const QueryAbuseConfig = Type.Object(
  {
    threshold: Type.Integer({ minimum: 2, default: 60 }),
    floor: Type.Integer({ minimum: 2, default: 30 }),
    ceiling: Type.Integer({ minimum: 2, default: 120 }),
    minBaselineSessions: Type.Integer({ minimum: 1, default: 100 }),
    /** Endpoints tracked per session (the most recent). */
    maxEndpoints: Type.Integer({ minimum: 1, maximum: 64, default: 16 }),
    /** Parameters tracked per endpoint. */
    maxParameters: Type.Integer({ minimum: 1, maximum: 64, default: 12 }),
    /** Session length (requests) of the first learning checkpoint. */
    learnAfter: Type.Integer({ minimum: 1, default: 10 }),
    repeatVoteMs: Type.Integer({ minimum: 0, default: 60_000 }),
  },
  { additionalProperties: false },
);
export type QueryAbuseConfig = Static<typeof QueryAbuseConfig>;

interface EndpointParams {
  endpoint: string;
  last: Record<string, string>;
  /** parameter -> variations */
  variations: Record<string, number>;
}

interface SessionQueries {
  endpoints: EndpointParams[];
  n: number;
}

export interface QueryAbuseState extends VoteMemory {
  sessions: Slot<SessionQueries>[];
  quota?: LearningQuota;
}

/** The one parameter that changed between two requests, if exactly one did. */
function singleChange(a: Record<string, string>, b: Record<string, string>): string | undefined {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  let changed: string | undefined;
  for (const key of keys) {
    if (a[key] === b[key]) continue;
    if (changed !== undefined) return undefined;
    changed = key;
  }
  return changed;
}

const maxOf = (variations: Record<string, number>): [string, number] =>
  Object.entries(variations).reduce<[string, number]>((m, e) => (e[1] > m[1] ? e : m), ['', 0]);

export const queryAbuseDetector = defineDetector<QueryAbuseState, typeof QueryAbuseConfig>({
  id: 'query-abuse',
  summary: 'Requests to one endpoint that vary one parameter, against the endpoint’s normal use',
  configSchema: QueryAbuseConfig,
  baseline: { metrics: { param_variations: { perEndpoint: true, max: 10_000 } } },
  stateKey: (event) => event.request.ip,
  stateTtlMs: () => 3_600_000,

  evaluate({ event, state, baseline, config }) {
    const ts = event.request.ts;
    const endpoint = `${event.request.method} ${event.route.split('?')[0]}`;
    const params = requestParameters(event);
    const { slots, slot } = withSlot<SessionQueries>(
      state?.sessions,
      event.sessionId,
      ts,
      () => ({ endpoints: [], n: 0 }),
      (s) => {
        const current = s.endpoints.find((e) => e.endpoint === endpoint);
        const variations = { ...(current?.variations ?? {}) };
        const changed = current ? singleChange(current.last, params) : undefined;
        if (
          changed !== undefined &&
          (changed in variations || Object.keys(variations).length < config.maxParameters)
        )
          variations[changed] = (variations[changed] ?? 0) + 1;
        const updated: EndpointParams = { endpoint, last: params, variations };
        const endpoints = [...s.endpoints.filter((e) => e.endpoint !== endpoint), updated].slice(
          -config.maxEndpoints,
        );
        return { endpoints, n: s.n + 1 };
      },
    );
    const next: QueryAbuseState = { ...state, sessions: slots };
    const current = slot.data.endpoints.at(-1)!;
    const [parameter, count] = maxOf(current.variations);
    if (count === 0 && !isLearningCheckpoint(slot.data.n, config.learnAfter))
      return { state: next };

    const thresholdOf = (e: string) =>
      refineThreshold(baseline, {
        metric: 'param_variations',
        endpoint: e,
        prior: config.threshold,
        quantile: 0.999,
        factor: 2,
        min: config.floor,
        max: config.ceiling,
        minObservations: config.minBaselineSessions,
      });
    const threshold = thresholdOf(endpoint);
    // Judged once the session has shown enough to be judged: any variation at all.
    const verdict = count >= threshold.value ? 'bot' : count > 0 ? 'clean' : undefined;
    const cast = castVote(state ?? {}, verdict, ts, config.repeatVoteMs, () => ({
      score: Math.min(1, count / threshold.value),
      evidence: [
        {
          metric: 'single_parameter_variations',
          value: count,
          threshold: Math.round(threshold.value),
          ...(threshold.baseline !== undefined && { baseline: threshold.baseline }),
          detail: `${endpoint} varying ${parameter}; ${describeThreshold(threshold)}`,
        },
      ],
    }));
    Object.assign(next, cast.memory);

    let observations: Observation[] = [];
    if (verdict !== 'bot' && isLearningCheckpoint(slot.data.n, config.learnAfter)) {
      observations = slot.data.endpoints
        .map((e) => ({ e, max: maxOf(e.variations)[1] }))
        .filter(({ max }) => max > 0 && max < config.threshold)
        .map(({ e, max }) => ({ metric: 'param_variations', value: max, endpoint: e.endpoint }));
    }
    const learn = learnWithQuota(state?.quota, ts, observations);
    if (learn.quota) next.quota = learn.quota;
    return { state: next, vote: cast.vote, observations: learn.observations };
  },
});
