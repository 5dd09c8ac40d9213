/**
 * Bad user-agent: a client that says it is a crawler, scanner or scripting tool, sends no
 * User-Agent at all, claims a browser it cannot be, or claims a browser while leaving out the
 * headers every browser sends.
 *
 * - Signatures: isbot's pattern list and the categorised crawler-user-agents list (maintained
 *   upstream; no hand list here). A UA that embeds an HTTP library under its own product token
 *   (`ShopApp/5.2 (Android 14) okhttp/4.12`) is an application, not a script, and passes;
 *   operators can allow more with `allow` (regular expressions).
 * - Claim: a UA that starts like a browser (`Mozilla/`) but parses as no browser and no engine.
 * - Header consistency: a UA parsed as a browser must come with each header of `browserHeaders`
 *   that the edge forwards. Whether the edge forwards a header is learned per application: the
 *   share of browser sessions that carry it. A header is checked while that share is at least
 *   `forwardedShare` (prior: unchecked until learned, and never on records from access logs,
 *   which carry no request headers), so an edge that strips a header disables its check, and
 *   bots that leave it out would have to be nearly all browser traffic to do the same.
 *
 * Votes on every request it can judge (every request has a UA); a `bot` verdict holds for
 * `holdMs` of event time after the last bad request, so a NAT shared by a person and a script
 * does not flap.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Evidence } from '@moat/contracts';
import { round, type LearningQuota, type Observation } from '@moat/baselines';
import { defineDetector } from '../detector';
import { castVote, type VoteMemory } from '../support/vote-policy';
import { learnWithQuota } from '../support/learning';
import { claimsBrowser, userAgentFacts } from '../support/user-agent';

export const BadUserAgentConfig = Type.Object(
  {
    /** UAs never judged bad (regular expressions), e.g. a partner's integration. */
    allow: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    /** Headers every browser sends on every request. */
    browserHeaders: Type.Array(Type.String({ minLength: 1 }), {
      default: ['accept', 'accept-encoding', 'accept-language'],
    }),
    /** Check a header only while at least this share of browser sessions carry it. */
    forwardedShare: Type.Number({ minimum: 0, maximum: 1, default: 0.05 }),
    minBaselineSessions: Type.Integer({ minimum: 1, default: 200 }),
    holdMs: Type.Integer({ minimum: 0, default: 600_000 }),
    repeatVoteMs: Type.Integer({ minimum: 0, default: 60_000 }),
  },
  { additionalProperties: false },
);
export type BadUserAgentConfig = Static<typeof BadUserAgentConfig>;

export interface BadUserAgentState extends VoteMemory {
  /** Event time of the latest bad request. */
  lastBadAt?: number;
  lastEvidence?: Evidence[];
  quota?: LearningQuota;
}

const allowCache = new Map<string, RegExp[]>();
function allowed(ua: string, allow: string[]): boolean {
  const key = allow.join('\u0000');
  let res = allowCache.get(key);
  if (!res) allowCache.set(key, (res = allow.map((a) => new RegExp(a, 'i'))));
  return res.some((re) => re.test(ua));
}

export const BROWSER_HEADER_METRIC = (header: string) => `carries:${header}`;

export const badUserAgentDetector = defineDetector<BadUserAgentState, typeof BadUserAgentConfig>({
  id: 'bad-user-agent',
  summary:
    'Crawler, scanner and scripted-client User-Agents; browser claims the headers contradict',
  configSchema: BadUserAgentConfig,
  baseline: {
    // One per header a deployment may configure; unknown metrics are simply not learned.
    metrics: Object.fromEntries(
      ['accept', 'accept-encoding', 'accept-language', 'sec-fetch-mode', 'sec-fetch-site'].map(
        (h) => [BROWSER_HEADER_METRIC(h), { max: 1 }],
      ),
    ),
  },
  stateKey: (event) => event.request.ip,
  stateTtlMs: (config) => Math.max(config.holdMs * 2, 3_600_000),

  evaluate({ event, state, baseline, config }) {
    const { request } = event;
    const ts = request.ts;
    const ua = request.userAgent.trim();
    const evidence: Evidence[] = [];
    let observations: Observation[] = [];

    if (ua.length === 0) {
      evidence.push({ metric: 'user_agent_missing', value: 1, threshold: 1 });
    } else if (!allowed(ua, config.allow)) {
      const facts = userAgentFacts(ua);
      if (facts.signatures.length > 0 && !facts.embedsLibrary) {
        const s = facts.signatures[0];
        evidence.push({
          metric: 'user_agent_signature',
          value: facts.signatures.length,
          threshold: 1,
          detail: `${s.category ?? 'bot'} signature /${s.pattern}/ in "${ua.slice(0, 200)}"`.slice(
            0,
            1024,
          ),
        });
      } else if (ua.startsWith('Mozilla/') && !facts.browser && !facts.engine) {
        evidence.push({
          metric: 'user_agent_browser_claim_unparseable',
          value: 1,
          threshold: 1,
          detail: ua.slice(0, 300),
        });
      } else if (
        claimsBrowser(facts) &&
        request.headerNames.length > 0 &&
        !request.partialHeaders
      ) {
        const present = new Set(request.headerNames);
        const checked = config.browserHeaders.filter((h) => {
          const metric = BROWSER_HEADER_METRIC(h);
          // Prior: unchecked. Until the baseline has shown that this edge forwards the header,
          // its absence says nothing (access logs and many proxies drop it).
          if ((baseline?.count(metric) ?? 0) < config.minBaselineSessions) return false;
          return (baseline?.mean(metric) ?? 1) >= config.forwardedShare;
        });
        const missing = checked.filter((h) => !present.has(h));
        if (event.session.requestCount === 1) {
          // Learn which headers this application's browser sessions carry, once per session and
          // whatever the verdict: an edge that strips a header makes every session lack it.
          observations = config.browserHeaders.map((h) => ({
            metric: BROWSER_HEADER_METRIC(h),
            value: present.has(h) ? 1 : 0,
          }));
        }
        if (missing.length > 0) {
          evidence.push({
            metric: 'browser_headers_missing',
            value: missing.length,
            threshold: 1,
            ...(baseline && {
              baseline: round(baseline.mean(BROWSER_HEADER_METRIC(missing[0])) ?? 1),
            }),
            detail: `${facts.browser} ${facts.version ?? ''} without ${missing.join(', ')}`,
          });
        }
      }
    }

    const next: BadUserAgentState = { ...state };
    if (evidence.length > 0) {
      next.lastBadAt = Math.max(ts, state?.lastBadAt ?? ts);
      next.lastEvidence = evidence;
    }
    const held = next.lastBadAt !== undefined && ts - next.lastBadAt < config.holdMs;
    const verdict = evidence.length > 0 || held ? 'bot' : 'clean';
    const cast = castVote(state ?? {}, verdict, ts, config.repeatVoteMs, () => ({
      score: 1,
      evidence:
        verdict === 'bot'
          ? (next.lastEvidence ?? evidence)
          : [{ metric: 'user_agent_signature', value: 0, threshold: 1 }],
    }));
    Object.assign(next, cast.memory);
    if (verdict === 'clean') delete next.lastEvidence;
    const learn = learnWithQuota(state?.quota, ts, observations);
    if (learn.quota) next.quota = learn.quota;
    return { state: next, vote: cast.vote, observations: learn.observations };
  },
});
