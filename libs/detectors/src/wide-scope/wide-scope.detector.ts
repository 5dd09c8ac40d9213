/**
 * Wide scope: the breadth of a client IP's activity over a sliding hour of event time — how
 * many distinct endpoints it touched, and how many distinct endpoints answered 404. People use
 * the part of an API their screens call; crawlers and scanners walk all of it and probe paths
 * that do not exist. Votes `bot` when either count reaches its threshold (priors: 60 distinct
 * endpoints, 15 distinct not-found endpoints per hour).
 *
 * Static files (images, scripts, styles, fonts) do not count as endpoints unless they are not
 * found: a page full of product images is content, not breadth.
 *
 * Learns: the distinct-endpoint count of clean clients at session checkpoints, per
 * application; the endpoint threshold = 1.5 × its 99.9th percentile within [floor, ceiling]
 * (an API whose screens call many endpoints earns a higher limit; the floor is the prior, so
 * learning never makes it stricter than a limit known to be safe; only counts under the prior
 * are learned, so bots creeping up under the limit cannot ratchet it past 1.5 × the prior).
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  describeThreshold,
  isLearningCheckpoint,
  refineThreshold,
  type LearningQuota,
} from '@moat/baselines';
import { defineDetector } from '../detector';
import { castVote, type VoteMemory } from '../support/vote-policy';
import { fnv1a } from '../support/hash';
import { learnWithQuota } from '../support/learning';

const STATIC_FILE =
  /\.(png|jpe?g|gif|webp|avif|svg|ico|css|js|mjs|map|woff2?|ttf|otf|eot|mp4|webm|mp3|pdf)$/i;

export const WideScopeConfig = Type.Object(
  {
    windowMs: Type.Integer({ minimum: 60_000, default: 3_600_000 }),
    threshold: Type.Integer({ minimum: 2, default: 60 }),
    floor: Type.Integer({ minimum: 2, default: 60 }),
    ceiling: Type.Integer({ minimum: 2, default: 90 }),
    notFoundThreshold: Type.Integer({ minimum: 2, default: 15 }),
    minBaselineSessions: Type.Integer({ minimum: 1, default: 200 }),
    learnAfter: Type.Integer({ minimum: 1, default: 10 }),
    repeatVoteMs: Type.Integer({ minimum: 0, default: 60_000 }),
  },
  { additionalProperties: false },
);
export type WideScopeConfig = Static<typeof WideScopeConfig>;

export interface WideScopeState extends VoteMemory {
  /** [endpoint fingerprint, last seen], at most ceiling + 1, within the window. */
  endpoints: [number, number][];
  notFound: [number, number][];
  quota?: LearningQuota;
}

function touch(entries: [number, number][], key: number, ts: number, horizon: number, cap: number) {
  const kept = entries.filter(([k, seen]) => k !== key && seen > horizon);
  const previous = entries.find(([k]) => k === key)?.[1] ?? ts;
  kept.push([key, Math.max(previous, ts)]);
  // Over the cap, the least recently seen go: the count saturates at cap, which is above any threshold.
  return kept.sort((a, b) => a[1] - b[1]).slice(-cap);
}

export const wideScopeDetector = defineDetector<WideScopeState, typeof WideScopeConfig>({
  id: 'wide-scope',
  summary:
    'Breadth of a client’s activity: distinct endpoints and distinct not-found paths per hour',
  configSchema: WideScopeConfig,
  baseline: { metrics: { distinct_endpoints: { max: 10_000 } } },
  stateKey: (event) => event.request.ip,
  stateTtlMs: (config) => config.windowMs * 2,

  evaluate({ event, state, baseline, config }) {
    const ts = event.request.ts;
    const newest = Math.max(ts, ...(state?.endpoints.map(([, seen]) => seen) ?? []));
    const horizon = newest - config.windowMs;
    const route = event.route.split('?')[0];
    const key = fnv1a(`${event.request.method} ${route}`);
    // Static files are content, not API surface: a page full of product images is not breadth.
    const counts = event.request.status !== 404 ? !STATIC_FILE.test(route) : true;
    const cap = config.ceiling + 1;
    const endpoints =
      ts > horizon && counts
        ? touch(state?.endpoints ?? [], key, ts, horizon, cap)
        : (state?.endpoints ?? []).filter(([, seen]) => seen > horizon);
    const notFound =
      event.request.status === 404 && ts > horizon
        ? touch(state?.notFound ?? [], fnv1a(event.request.path.split('?')[0]), ts, horizon, cap)
        : (state?.notFound ?? []).filter(([, seen]) => seen > horizon);
    const next: WideScopeState = { ...state, endpoints, notFound };

    const threshold = refineThreshold(baseline, {
      metric: 'distinct_endpoints',
      prior: config.threshold,
      quantile: 0.999,
      factor: 1.5,
      min: config.floor,
      max: config.ceiling,
      minObservations: config.minBaselineSessions,
    });
    const wide = endpoints.length >= threshold.value;
    const probing = notFound.length >= config.notFoundThreshold;
    // Judged once the client has been seen on a few endpoints.
    const judged = wide || probing || endpoints.length >= 5;
    const verdict = wide || probing ? 'bot' : judged ? 'clean' : undefined;
    const cast = castVote(state ?? {}, verdict, ts, config.repeatVoteMs, () => ({
      score: Math.min(
        1,
        Math.max(endpoints.length / threshold.value, notFound.length / config.notFoundThreshold),
      ),
      evidence: [
        {
          metric: 'distinct_endpoints_per_window',
          value: endpoints.length,
          threshold: Math.round(threshold.value),
          ...(threshold.baseline !== undefined && { baseline: threshold.baseline }),
          detail: `window ${config.windowMs} ms; ${describeThreshold(threshold)}`,
        },
        {
          metric: 'distinct_not_found_paths_per_window',
          value: notFound.length,
          threshold: config.notFoundThreshold,
        },
      ],
    }));
    Object.assign(next, cast.memory);
    const learn =
      verdict === 'clean' &&
      endpoints.length < config.threshold &&
      isLearningCheckpoint(event.session.requestCount, config.learnAfter)
        ? learnWithQuota(state?.quota, ts, [
            { metric: 'distinct_endpoints', value: endpoints.length },
          ])
        : { quota: state?.quota };
    if (learn.quota) next.quota = learn.quota;
    return { state: next, vote: cast.vote, observations: learn.observations };
  },
});
