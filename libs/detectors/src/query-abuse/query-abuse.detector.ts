/**
 * Query abuse: requests to one endpoint that walk one parameter — pagination walked to the end,
 * ids enumerated, a search term brute-forced. Two criteria, per session and endpoint:
 * - *volume*: a request that changes exactly one parameter of the previous request to the
 *   endpoint counts one variation of that parameter; `bot` when a session's variations of one
 *   (endpoint, parameter) reach the endpoint's threshold (prior 60);
 * - *systematic enumeration*: the longest run of consecutive requests to the endpoint whose
 *   numeric parameter moves by a constant non-zero step (ids 12, 18, 24, 30…, pages 1, 2, 3…);
 *   `bot` when it reaches the endpoint's threshold (prior 10 requests). A fleet that spreads an
 *   enumeration over hundreds of addresses sends each only tens of requests — far under the
 *   volume limit, but every one of them a step of the same progression, which people do not
 *   keep up: the longest run of 10,000 simulated people is 4 (result pages 1–4), so the
 *   prior is 2.5 × that and the learned threshold never goes under 2 × (floor 8). A
 *   cache-buster counting up from the page's load time in epoch ms (jQuery's `_=`) is a clock,
 *   not a walk: it forms no run.
 *
 * Learns, per endpoint and criterion: the largest value of clean sessions at session
 * checkpoints, only values under the prior (so bots creeping up under the limit cannot ratchet
 * it up: the learned limit is at most 2 × the prior). Threshold = 2 × its 99.9th percentile
 * within [floor, ceiling]: volume within [60, 120] (an endpoint people page through a lot earns
 * a higher limit), enumeration within [8, 20].
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  describeThreshold,
  isLearningCheckpoint,
  refineThreshold,
  type LearningQuota,
  type Observation,
} from '@moat/baselines';
import type { Evidence } from '@moat/contracts';
import { defineDetector } from '../detector';
import { castVote, type VoteMemory } from '../support/vote-policy';
import { withSlot, type Slot } from '../support/session-slots';
import { learnWithQuota } from '../support/learning';
import { requestParameters } from '../support/route-params';

export const QueryAbuseConfig = Type.Object(
  {
    threshold: Type.Integer({ minimum: 2, default: 60 }),
    /**
     * The prior: people's variation counts have a long tail that 2 × the 99.9th percentile
     * misses (simulated people's longest sessions reach 40–58 product ids where that gives 39),
     * so learning may raise the limit, not lower it.
     */
    floor: Type.Integer({ minimum: 2, default: 60 }),
    ceiling: Type.Integer({ minimum: 2, default: 120 }),
    minBaselineSessions: Type.Integer({ minimum: 1, default: 100 }),
    /** Endpoints tracked per session (the most recent). */
    maxEndpoints: Type.Integer({ minimum: 1, maximum: 64, default: 16 }),
    /** Parameters tracked per endpoint. */
    maxParameters: Type.Integer({ minimum: 1, maximum: 64, default: 12 }),
    /** Session length (requests) of the first learning checkpoint. */
    learnAfter: Type.Integer({ minimum: 1, default: 10 }),
    /** Systematic enumeration: requests in one arithmetic progression of a numeric parameter. */
    enumerationThreshold: Type.Integer({ minimum: 3, default: 10 }),
    enumerationFloor: Type.Integer({ minimum: 3, default: 8 }),
    enumerationCeiling: Type.Integer({ minimum: 3, default: 20 }),
    repeatVoteMs: Type.Integer({ minimum: 0, default: 60_000 }),
  },
  { additionalProperties: false },
);
export type QueryAbuseConfig = Static<typeof QueryAbuseConfig>;

/** A numeric parameter's current arithmetic progression: its step and how many requests. */
interface Progression {
  step: number;
  length: number;
}

interface EndpointParams {
  endpoint: string;
  last: Record<string, string>;
  /** parameter -> variations */
  variations: Record<string, number>;
  /** numeric parameter -> its current progression (length ≥ 2) */
  runs?: Record<string, Progression>;
  /** The session's longest progression on this endpoint. */
  best?: Progression & { parameter: string };
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

const INTEGER = /^-?\d{1,15}$/;
const DAY_MS = 86_400_000;

/** Largest step of a cache-buster's counter between two requests to one endpoint. */
const CACHE_BUSTER_MAX_STEP = 100;

/**
 * A cache-buster: jQuery's `cache: false` (and libraries like it) append the page's load time in
 * epoch milliseconds and add 1 per request of the page (`_=1790000000000`, `_=1790000000001`, …);
 * a page polling a few endpoints in turn sees each step by the number of endpoints, and keeps it
 * up for as long as it is open. A value within a day of the request's own time, moving up by a
 * few milliseconds, is that counter, not an identifier walked.
 */
function isCacheBuster(value: number, step: number, ts: number): boolean {
  return step > 0 && step <= CACHE_BUSTER_MAX_STEP && Math.abs(value - ts) < DAY_MS;
}

/**
 * The progressions after a request: a numeric parameter that moved by the same non-zero step as
 * before extends its run; one that moved otherwise starts a new run of two; one that did not
 * move, or is gone or not a number, has none. An identical repeat (a retry, a reload) neither
 * extends nor breaks a run. A cache-buster counting up from the page's load time has none. At
 * most `max` parameters are followed.
 */
function progressions(
  previous: EndpointParams | undefined,
  params: Record<string, string>,
  max: number,
  ts: number,
): Pick<EndpointParams, 'runs' | 'best'> {
  if (!previous) return {};
  const { last, runs = {}, best } = previous;
  const keys = Object.keys(params);
  if (keys.length === Object.keys(last).length && keys.every((k) => last[k] === params[k]))
    return { runs, best };
  const next: Record<string, Progression> = {};
  let longest = best;
  for (const key of keys) {
    if (Object.keys(next).length >= max) break;
    const [before, now] = [last[key], params[key]];
    if (before === undefined || !INTEGER.test(before) || !INTEGER.test(now)) continue;
    const step = Number(now) - Number(before);
    if (step === 0 || isCacheBuster(Number(now), step, ts)) continue;
    const run = { step, length: runs[key]?.step === step ? runs[key].length + 1 : 2 };
    next[key] = run;
    if (run.length > (longest?.length ?? 0)) longest = { parameter: key, ...run };
  }
  return { runs: next, ...(longest && { best: longest }) };
}

const maxOf = (variations: Record<string, number>): [string, number] =>
  Object.entries(variations).reduce<[string, number]>((m, e) => (e[1] > m[1] ? e : m), ['', 0]);

export const queryAbuseDetector = defineDetector<QueryAbuseState, typeof QueryAbuseConfig>({
  id: 'query-abuse',
  summary: 'Requests to one endpoint that vary one parameter, against the endpoint’s normal use',
  configSchema: QueryAbuseConfig,
  baseline: {
    metrics: {
      param_variations: { perEndpoint: true, max: 10_000 },
      enumeration_run: { perEndpoint: true, max: 1_000 },
    },
  },
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
        const updated: EndpointParams = {
          endpoint,
          last: params,
          variations,
          ...progressions(current, params, config.maxParameters, ts),
        };
        const endpoints = [...s.endpoints.filter((e) => e.endpoint !== endpoint), updated].slice(
          -config.maxEndpoints,
        );
        return { endpoints, n: s.n + 1 };
      },
    );
    const next: QueryAbuseState = { ...state, sessions: slots };
    const current = slot.data.endpoints.at(-1)!;
    const [parameter, count] = maxOf(current.variations);
    const run = current.best;
    const runLength = run?.length ?? 0;
    if (count === 0 && runLength === 0 && !isLearningCheckpoint(slot.data.n, config.learnAfter))
      return { state: next };

    const refine = (metric: string, prior: number, min: number, max: number) =>
      refineThreshold(baseline, {
        metric,
        endpoint,
        prior,
        quantile: 0.999,
        factor: 2,
        min,
        max,
        minObservations: config.minBaselineSessions,
      });
    const threshold = refine('param_variations', config.threshold, config.floor, config.ceiling);
    const runThreshold = refine(
      'enumeration_run',
      config.enumerationThreshold,
      config.enumerationFloor,
      config.enumerationCeiling,
    );
    const volumeHit = count >= threshold.value;
    const enumerationHit = runLength >= runThreshold.value;
    // Judged once the session has shown enough to be judged: any variation or progression.
    const verdict =
      volumeHit || enumerationHit ? 'bot' : count > 0 || runLength > 0 ? 'clean' : undefined;
    const cast = castVote(state ?? {}, verdict, ts, config.repeatVoteMs, () => {
      const volume: Evidence = {
        metric: 'single_parameter_variations',
        value: count,
        threshold: Math.round(threshold.value),
        ...(threshold.baseline !== undefined && { baseline: threshold.baseline }),
        detail: `${endpoint} varying ${parameter}; ${describeThreshold(threshold)}`,
      };
      const enumeration: Evidence | undefined = run && {
        metric: 'enumeration_run',
        value: run.length,
        threshold: Math.round(runThreshold.value),
        ...(runThreshold.baseline !== undefined && { baseline: runThreshold.baseline }),
        detail: `${endpoint} stepping ${run.parameter} by ${run.step}; ${describeThreshold(runThreshold)}`,
      };
      const evidence =
        verdict === 'bot'
          ? [
              ...(volumeHit ? [volume] : []),
              ...(enumerationHit && enumeration ? [enumeration] : []),
            ]
          : [...(count > 0 ? [volume] : []), ...(enumeration ? [enumeration] : [])];
      return {
        score: Math.min(1, Math.max(count / threshold.value, runLength / runThreshold.value)),
        evidence,
      };
    });
    Object.assign(next, cast.memory);

    const observations: Observation[] = [];
    if (verdict !== 'bot' && isLearningCheckpoint(slot.data.n, config.learnAfter)) {
      for (const e of slot.data.endpoints) {
        const variations = maxOf(e.variations)[1];
        if (variations > 0 && variations < config.threshold)
          observations.push({
            metric: 'param_variations',
            value: variations,
            endpoint: e.endpoint,
          });
        const longest = e.best?.length ?? 0;
        if (longest > 0 && longest < config.enumerationThreshold)
          observations.push({ metric: 'enumeration_run', value: longest, endpoint: e.endpoint });
      }
    }
    const learn = learnWithQuota(state?.quota, ts, observations);
    if (learn.quota) next.quota = learn.quota;
    return { state: next, vote: cast.vote, observations: learn.observations };
  },
});
