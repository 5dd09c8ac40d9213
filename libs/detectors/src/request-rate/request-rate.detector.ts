/**
 * Request rate: the share of a client's recent intervals in which it sent more requests than a
 * threshold. Intervals are aligned windows of event time (the requests' own timestamps), so a
 * replayed log votes exactly as live traffic did. A client votes `bot` once its current
 * interval exceeds the threshold and at least `voteShare` of its active intervals in the
 * lookback did; it votes `clean` once it has shown `minRequests` without that.
 *
 * The priors are absolute limits safe on any site (a human, even a single-page app loading a
 * view, does not sustain 5 requests per second over 10 s); learned per-endpoint baselines will
 * refine them later.
 */
import { Type, type Static } from '@sinclair/typebox';
import { defineDetector } from '../detector';

export const RequestRateConfig = Type.Object(
  {
    intervalMs: Type.Integer({ minimum: 100, default: 10_000 }),
    /** Requests per interval above which an interval counts as over the rate. */
    threshold: Type.Integer({ minimum: 1, default: 50 }),
    /** How many intervals back the share is computed over. */
    lookbackIntervals: Type.Integer({ minimum: 1, maximum: 360, default: 6 }),
    voteShare: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.5 }),
    /** Requests a client must show before the detector judges it at all. */
    minRequests: Type.Integer({ minimum: 1, default: 20 }),
    /** While a verdict holds, it is repeated at most this often (so decisions can be extended). */
    repeatVoteMs: Type.Integer({ minimum: 0, default: 60_000 }),
  },
  { additionalProperties: false },
);
export type RequestRateConfig = Static<typeof RequestRateConfig>;

export interface RequestRateState {
  /** [interval start (event time), requests in it], oldest first, at most lookbackIntervals. */
  intervals: [number, number][];
  lastVerdict?: 'bot' | 'clean';
  lastVoteAt?: number;
}

export const requestRateDetector = defineDetector<RequestRateState, typeof RequestRateConfig>({
  id: 'request-rate',
  summary:
    'Share of recent event-time intervals in which the client exceeded a request-rate threshold',
  configSchema: RequestRateConfig,
  stateKey: (event) => event.request.ip,
  stateTtlMs: (config) => config.intervalMs * config.lookbackIntervals * 2,

  evaluate({ event, state, config }) {
    const ts = event.request.ts;
    const start = ts - (ts % config.intervalMs);
    // The window ends at the newest interval seen, so a late event cannot widen it.
    const newest = Math.max(start, state?.intervals.at(-1)?.[0] ?? start);
    const horizon = newest - (config.lookbackIntervals - 1) * config.intervalMs;
    // Copies: the state we were given is not ours to change.
    const intervals = (state?.intervals ?? [])
      .filter(([s]) => s >= horizon)
      .map(([s, n]): [number, number] => [s, n]);
    const current = intervals.find(([s]) => s === start);
    if (current) current[1] += 1;
    else if (start >= horizon) {
      intervals.push([start, 1]);
      intervals.sort((a, b) => a[0] - b[0]);
    }

    const total = intervals.reduce((sum, [, n]) => sum + n, 0);
    const over = intervals.filter(([, n]) => n > config.threshold).length;
    const share = intervals.length > 0 ? over / intervals.length : 0;
    const currentCount = current?.[1] ?? 1;
    const next: RequestRateState = { ...state, intervals };

    if (total < config.minRequests) return { state: next };
    // A new interval starts under the threshold; while the share holds, so does the verdict,
    // or a sustained flood would vote clean at the start of every interval.
    const verdict: 'bot' | 'clean' | undefined =
      share < config.voteShare
        ? 'clean'
        : currentCount > config.threshold
          ? 'bot'
          : state?.lastVerdict;
    if (verdict === undefined) return { state: next };
    const repeatDue =
      verdict === 'bot' &&
      (state?.lastVoteAt === undefined || ts - state.lastVoteAt >= config.repeatVoteMs);
    if (verdict === state?.lastVerdict && !repeatDue) return { state: next };

    next.lastVerdict = verdict;
    next.lastVoteAt = ts;
    return {
      state: next,
      vote: {
        verdict,
        score: verdict === 'bot' ? Math.min(1, share) : 0,
        evidence: [
          {
            metric: 'requests_in_interval',
            value: currentCount,
            threshold: config.threshold,
            detail: `interval ${config.intervalMs} ms`,
          },
          {
            metric: 'share_of_intervals_over_threshold',
            value: Number(share.toFixed(4)),
            threshold: config.voteShare,
            detail: `${over} of ${intervals.length} active intervals`,
          },
        ],
      },
    };
  },
});
