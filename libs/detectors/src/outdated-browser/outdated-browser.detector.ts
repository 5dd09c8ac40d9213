/**
 * Outdated browser: a browser release too old for a person to still run it, or one that
 * browserslist counts as dead. Browsers update themselves; a years-old Chrome in 2025 is a
 * script with a User-Agent copied long ago. The UA is parsed with ua-parser-js 1.x (MIT) and
 * the release dated with caniuse-lite; the age is taken at the request's event time, so a
 * replay of last year's log judges last year's browsers.
 *
 * Votes `bot` when the release is older than the threshold (prior 4 years) or dead, `clean` for
 * any other dated browser release; clients that are not browsers get no vote (not its call).
 *
 * Learns: the release age of each clean browser session (first request), per application.
 * Threshold = 1.25 × its 99.9th percentile within [floor, ceiling]; the floor is the prior, so
 * learning only gives room (an intranet of old machines), up to the ceiling: a site's own
 * people lagging a few releases must never make the limit stricter than the safe prior.
 */
import { Type, type Static } from '@sinclair/typebox';
import { describeThreshold, refineThreshold, round, type LearningQuota } from '@moat/baselines';
import { defineDetector } from '../detector';
import { castVote, type VoteMemory } from '../support/vote-policy';
import { learnWithQuota } from '../support/learning';
import { userAgentFacts } from '../support/user-agent';
import { browserRelease } from './browser-releases';

const DAY = 86_400_000;

export const OutdatedBrowserConfig = Type.Object(
  {
    /** Prior: release age in days beyond which a browser is outdated. */
    maxAgeDays: Type.Integer({ minimum: 30, default: 1_461 }),
    floorDays: Type.Integer({ minimum: 30, default: 1_461 }),
    ceilingDays: Type.Integer({ minimum: 30, default: 1_826 }),
    /** Vote on browsers browserslist counts as dead (IE, old Opera Mobile, …). */
    dead: Type.Boolean({ default: true }),
    minBaselineSessions: Type.Integer({ minimum: 1, default: 200 }),
    repeatVoteMs: Type.Integer({ minimum: 0, default: 60_000 }),
  },
  { additionalProperties: false },
);
export type OutdatedBrowserConfig = Static<typeof OutdatedBrowserConfig>;

export interface OutdatedBrowserState extends VoteMemory {
  quota?: LearningQuota;
}

export const outdatedBrowserDetector = defineDetector<
  OutdatedBrowserState,
  typeof OutdatedBrowserConfig
>({
  id: 'outdated-browser',
  summary: 'Browser release too old (caniuse-lite release dates) or dead (browserslist)',
  configSchema: OutdatedBrowserConfig,
  baseline: { metrics: { browser_age_days: { max: 36_500 } } },
  stateKey: (event) => event.request.ip,
  stateTtlMs: () => 3_600_000,

  evaluate({ event, state, baseline, config }) {
    const ts = event.request.ts;
    const facts = userAgentFacts(event.request.userAgent);
    // A client the signature lists know is not a browser: bad-user-agent's call, not ours.
    const release = facts.signatures.length === 0 ? browserRelease(facts) : undefined;
    if (!release) return { state };
    const ageDays =
      release.releasedAt === undefined ? 0 : Math.max(0, (ts - release.releasedAt) / DAY);
    const threshold = refineThreshold(baseline, {
      metric: 'browser_age_days',
      prior: config.maxAgeDays,
      quantile: 0.999,
      factor: 1.25,
      min: config.floorDays,
      max: config.ceilingDays,
      minObservations: config.minBaselineSessions,
    });
    const dead = config.dead && release.dead;
    const verdict = dead || ageDays > threshold.value ? 'bot' : 'clean';
    const next: OutdatedBrowserState = { ...state };
    const cast = castVote(state ?? {}, verdict, ts, config.repeatVoteMs, () => ({
      score: dead ? 1 : Math.min(1, ageDays / threshold.value),
      evidence: [
        {
          metric: 'browser_release_age_days',
          value: Math.round(ageDays),
          threshold: Math.round(threshold.value),
          ...(threshold.baseline !== undefined && { baseline: round(threshold.baseline, 0) }),
          detail: `${facts.browser} ${facts.version ?? '?'} (${release.agent} ${release.version}${
            release.releasedAt !== undefined
              ? `, released ${new Date(release.releasedAt).toISOString().slice(0, 10)}`
              : ''
          }${dead ? ', dead per browserslist' : ''}); ${describeThreshold(threshold)}`,
        },
      ],
    }));
    Object.assign(next, cast.memory);
    const learn =
      verdict === 'clean' && ageDays <= config.maxAgeDays && event.session.requestCount === 1
        ? learnWithQuota(state?.quota, ts, [{ metric: 'browser_age_days', value: ageDays }])
        : { quota: state?.quota };
    if (learn.quota) next.quota = learn.quota;
    return { state: next, vote: cast.vote, observations: learn.observations };
  },
});
