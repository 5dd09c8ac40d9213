/**
 * Authentication abuse: a client whose traffic is mostly authentication, at a rate above a
 * threshold that follows the application's own authentication volume. The threshold is the prior
 * `minAuthPerInterval` times the application's current surge — the authentication requests of
 * the current interval from everyone else, over the typical interval of the last day — so a
 * legitimate peak (a campaign e-mail, a password-reset wave) that multiplies everyone's logins
 * raises the bar with it, while one client cannot raise its own bar (its requests are not
 * counted in the surge).
 *
 * State: per client IP (the events' key), the last `lookbackIntervals` event-time intervals as
 * (start, requests, auth requests) — under 200 bytes. Cross-session, per application:
 * HyperLogLogs of the authentication request ids per interval (the current interval) and per
 * hour (the last day): at most 12 KB per bucket, 1 + 24 live buckets per application, each
 * expiring after a day; idempotent (a redelivered request id adds nothing).
 */
import { Type, type Static } from '@sinclair/typebox';
import { defineDetector } from '../detector';
import { castVote, type VoteMemory } from '../support/vote-policy';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const AuthenticationAbuseConfig = Type.Object(
  {
    intervalMs: Type.Integer({ minimum: 10_000, maximum: HOUR, default: 300_000 }),
    lookbackIntervals: Type.Integer({ minimum: 1, maximum: 48, default: 3 }),
    /** Authentication requests per interval over which a client is abusive at normal volume. */
    minAuthPerInterval: Type.Integer({ minimum: 2, default: 10 }),
    /** Share of the client's requests in the lookback that are authentication. */
    minAuthRatio: Type.Number({ minimum: 0, maximum: 1, default: 0.3 }),
    /** Authentication requests per interval the application must see before a surge counts. */
    minTypicalAuth: Type.Number({ minimum: 0, default: 5 }),
    /** Authentication requests a client must show before the detector judges it `clean`. */
    minJudged: Type.Integer({ minimum: 1, default: 1 }),
    repeatVoteMs: Type.Integer({ minimum: 0, default: 60_000 }),
  },
  { additionalProperties: false },
);
export type AuthenticationAbuseConfig = Static<typeof AuthenticationAbuseConfig>;

export interface AuthenticationAbuseState extends VoteMemory {
  /** [interval start, requests, auth requests], oldest first. */
  intervals: [number, number, number][];
}

export const authenticationAbuseDetector = defineDetector<
  AuthenticationAbuseState,
  typeof AuthenticationAbuseConfig
>({
  id: 'authentication-abuse',
  summary:
    "Share and rate of a client's authentication requests against a threshold that follows the application's authentication volume",
  configSchema: AuthenticationAbuseConfig,
  stateKey: (event) => event.request.ip,
  stateTtlMs: (config) => config.intervalMs * config.lookbackIntervals * 2,

  tallies(event, config) {
    if (!event.auth) return [];
    const app = event.request.app;
    return [
      {
        kind: 'distinct',
        name: 'app-auth-interval',
        key: app,
        member: event.request.id,
        bucketMs: config.intervalMs,
        windowMs: config.intervalMs,
        retentionMs: DAY,
      },
      {
        kind: 'distinct',
        name: 'app-auth-day',
        key: app,
        member: event.request.id,
        bucketMs: HOUR,
        windowMs: DAY,
        retentionMs: DAY,
      },
    ];
  },

  evaluate({ event, state, config, tallies }) {
    const ts = event.request.ts;
    const start = ts - (ts % config.intervalMs);
    const newest = Math.max(start, state?.intervals.at(-1)?.[0] ?? start);
    const horizon = newest - (config.lookbackIntervals - 1) * config.intervalMs;
    const auth = event.auth ? 1 : 0;
    const intervals = (state?.intervals ?? [])
      .filter(([s]) => s >= horizon)
      .map(([s, n, a]): [number, number, number] => [s, n, a]);
    const current = intervals.find(([s]) => s === start);
    if (current) {
      current[1] += 1;
      current[2] += auth;
    } else if (start >= horizon) {
      intervals.push([start, 1, auth]);
      intervals.sort((a, b) => a[0] - b[0]);
    }
    const next: AuthenticationAbuseState = { ...state, intervals };
    if (!event.auth) return { state: next };

    const requests = intervals.reduce((sum, [, n]) => sum + n, 0);
    const authRequests = intervals.reduce((sum, [, , a]) => sum + a, 0);
    const inInterval = current?.[2] ?? auth;
    const ratio = authRequests / requests;
    // The application's volume: without this client's own requests, so it cannot raise its bar.
    const appInterval = tallies?.['app-auth-interval']?.count;
    const appDay = tallies?.['app-auth-day']?.count;
    let surge = 1;
    let typical: number | undefined;
    if (appInterval !== undefined && appDay !== undefined) {
      typical = Math.max(0, appDay - appInterval) / (DAY / config.intervalMs);
      if (typical >= config.minTypicalAuth)
        surge = Math.max(1, Math.max(0, appInterval - inInterval) / typical);
    }
    const threshold = config.minAuthPerInterval * surge;
    const verdict: 'bot' | 'clean' | undefined =
      inInterval > threshold && ratio >= config.minAuthRatio
        ? 'bot'
        : authRequests >= config.minJudged
          ? 'clean'
          : undefined;
    const { vote, memory } = castVote(next, verdict, ts, config.repeatVoteMs, () => ({
      score: Math.min(1, inInterval / (threshold * 2)) * Math.min(1, ratio / config.minAuthRatio),
      evidence: [
        {
          metric: 'auth_requests_in_interval',
          value: inInterval,
          threshold: Number(threshold.toFixed(2)),
          detail: `interval ${config.intervalMs} ms; prior ${config.minAuthPerInterval} × application surge ${surge.toFixed(2)}`,
        },
        {
          metric: 'auth_request_ratio',
          value: Number(ratio.toFixed(4)),
          threshold: config.minAuthRatio,
        },
        ...(typical !== undefined
          ? [
              {
                metric: 'app_auth_requests_in_interval',
                value: appInterval!,
                baseline: Number(typical.toFixed(2)),
                detail: 'baseline: typical interval of the last day',
              },
            ]
          : []),
      ],
    }));
    return { state: { ...next, ...memory }, ...(vote ? { vote } : {}) };
  },
});
