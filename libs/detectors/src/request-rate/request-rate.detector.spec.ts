import fc from 'fast-check';
import type { SessionEvent } from '@moat/contracts';
import type { VoteDraft } from '../detector';
import { resolveDetectorConfig } from '../detector-config';
import {
  requestRateDetector,
  type RequestRateConfig,
  type RequestRateState,
} from './request-rate.detector';

const T0 = 1_764_000_000_000; // a multiple of 10 s, so intervals start at T0
const defaults = resolveDetectorConfig(requestRateDetector) as RequestRateConfig;

function event(ts: number, ip = '203.0.113.7'): SessionEvent {
  return {
    v: 1,
    request: {
      v: 1,
      id: `req-${ts}`,
      ts,
      app: 'shop.example',
      ip,
      method: 'GET',
      path: '/api/products/1',
      query: {},
      status: 200,
      requestBytes: 0,
      responseBytes: 100,
      latencyMs: 5,
      userAgent: 'Mozilla/5.0',
      headerNames: ['host'],
      credentials: [],
    },
    sessionId: 's1',
    sessionKeyKind: 'fingerprint',
    route: '/api/products/{id}',
    session: {
      startedAt: ts,
      requestCount: 1,
      durationMs: 0,
      uniqueRoutes: 1,
      authAttempts: 0,
      authFailures: 0,
      bytesIn: 0,
      bytesOut: 0,
      errorResponses: 0,
    },
  };
}

interface Cast {
  ts: number;
  vote: VoteDraft;
}

/** Feeds timestamps through the detector in order, as the host would, and collects the votes. */
function run(timestamps: number[], config: RequestRateConfig = defaults, start?: RequestRateState) {
  let state: RequestRateState | undefined = start;
  const votes: Cast[] = [];
  const states: RequestRateState[] = [];
  for (const ts of timestamps) {
    const result = requestRateDetector.evaluate({
      event: event(ts),
      state,
      baseline: undefined,
      config,
    });
    state = result.state as RequestRateState | undefined;
    states.push(state!);
    if (result.vote) votes.push({ ts, vote: result.vote });
  }
  return { votes, state, states };
}

/** `rate` requests per second from `from` for `seconds`. */
const steady = (from: number, rate: number, seconds: number) =>
  Array.from(
    { length: Math.round(rate * seconds) },
    (_, i) => from + Math.floor((i * 1000) / rate),
  );

describe('request-rate detector', () => {
  it('uses the default priors', () => {
    expect(defaults).toEqual({
      intervalMs: 10_000,
      threshold: 50,
      lookbackIntervals: 6,
      voteShare: 0.5,
      minRequests: 20,
      repeatVoteMs: 60_000,
    });
  });

  it('votes on event time only: the wall clock changes nothing', () => {
    const timestamps = [...steady(T0, 1, 30), ...steady(T0 + 30_000, 100, 90)];
    const now = jest.spyOn(Date, 'now');
    try {
      now.mockReturnValue(0);
      const early = run(timestamps).votes;
      now.mockReturnValue(T0 + 86_400_000 * 365);
      const late = run(timestamps).votes;
      expect(late).toEqual(early);
      expect(early.some((v) => v.vote.verdict === 'bot')).toBe(true);
    } finally {
      now.mockRestore();
    }
  });

  it('never votes bot on a human at 1 request per second, and votes clean once after minRequests', () => {
    const { votes, states } = run(steady(T0, 1, 600));
    expect(votes).toHaveLength(1);
    expect(votes[0]).toMatchObject({ ts: T0 + 19_000, vote: { verdict: 'clean', score: 0 } });
    expect(states[18].lastVerdict).toBeUndefined();
  });

  it('never votes bot on a client that stays at or under the threshold in every interval', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 200, max: 120_000 }), { minLength: 1, maxLength: 300 }),
        (gaps) => {
          // Gaps of at least 200 ms put at most 50 requests (= threshold) in a 10 s interval.
          let ts = T0;
          const timestamps = gaps.map((gap) => (ts += gap));
          expect(run(timestamps).votes.filter((v) => v.vote.verdict === 'bot')).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('votes bot on a 100 req/s flood within the first interval, as soon as it passes the threshold', () => {
    const { votes } = run(steady(T0, 100, 10));
    const bot = votes.find((v) => v.vote.verdict === 'bot')!;
    expect(bot.ts).toBe(T0 + 500); // the 51st request
    expect(bot.ts).toBeLessThan(T0 + defaults.intervalMs);
    expect(bot.vote.score).toBe(1);
    expect(bot.vote.evidence).toEqual([
      { metric: 'requests_in_interval', value: 51, threshold: 50, detail: 'interval 10000 ms' },
      {
        metric: 'share_of_intervals_over_threshold',
        value: 1,
        threshold: 0.5,
        detail: '1 of 1 active intervals',
      },
    ]);
    // Before the threshold it had enough requests to judge, and judged clean.
    expect(votes[0]).toMatchObject({ ts: T0 + 190, vote: { verdict: 'clean' } });
  });

  it('votes bot on a flood that starts late in an interval, within that interval', () => {
    const { votes } = run(steady(T0 + 9_000, 100, 5));
    const bot = votes.find((v) => v.vote.verdict === 'bot')!;
    expect(bot.ts).toBeLessThan(T0 + 10_000);
  });

  it('repeats a bot verdict at most every repeatVoteMs while the flood lasts, and at least that often', () => {
    const { votes } = run(steady(T0, 100, 300));
    const bots = votes.filter((v) => v.vote.verdict === 'bot').map((v) => v.ts);
    for (let i = 1; i < bots.length; i++)
      expect(bots[i] - bots[i - 1]).toBeGreaterThanOrEqual(60_000);
    for (let i = 1; i < bots.length; i++) expect(bots[i] - bots[i - 1]).toBeLessThan(60_000 + 100);
    expect(bots).toHaveLength(5);
  });

  it('holds the bot verdict through a sustained flood instead of voting clean at each new interval', () => {
    const { votes } = run(steady(T0, 100, 120));
    expect(votes.map((v) => v.vote.verdict)).toEqual(['clean', 'bot', 'bot']);
  });

  it('votes clean once a flood that slowed to human rate no longer holds voteShare of the intervals', () => {
    const { votes } = run([...steady(T0, 100, 10), ...steady(T0 + 10_000, 1, 60)]);
    // At T0+10 s the flood is 1 of 2 intervals (share 0.5, still bot); at T0+20 s it is 1 of 3.
    expect(votes.map((v) => [v.ts, v.vote.verdict])).toEqual([
      [T0 + 190, 'clean'],
      [T0 + 500, 'bot'],
      [T0 + 20_000, 'clean'],
    ]);
  });

  it('does not repeat a clean verdict', () => {
    const { votes } = run(steady(T0, 2, 3600));
    expect(votes.map((v) => v.vote.verdict)).toEqual(['clean']);
  });

  it('forgets intervals that leave the lookback window: a past flood stops counting', () => {
    const flood = steady(T0, 100, 10);
    const after = steady(T0 + 60_000, 1, 60);
    const { votes, states } = run([...flood, ...after]);
    const last = votes[votes.length - 1];
    expect(last.vote.verdict).toBe('clean');
    expect(last.ts).toBeGreaterThanOrEqual(T0 + 60_000);
    const final = states[states.length - 1];
    expect(final.intervals.every(([s]) => s > T0)).toBe(true);
  });

  it('needs voteShare of the active intervals over the threshold, not just a burst', () => {
    const config = { ...defaults, lookbackIntervals: 6, voteShare: 0.5 };
    // Three calm intervals of 30 requests, then a burst of 60 in the fourth: share 1/4 < 0.5.
    const calm = [0, 1, 2].flatMap((i) => steady(T0 + i * 10_000, 3, 10));
    const burst = steady(T0 + 30_000, 6, 10);
    const { votes } = run([...calm, ...burst], config);
    expect(votes.filter((v) => v.vote.verdict === 'bot')).toEqual([]);
  });

  it('keeps its state bounded by lookbackIntervals, whatever the order of timestamps', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3_600_000 }), { minLength: 1, maxLength: 200 }),
        (offsets) => {
          const { states } = run(offsets.map((o) => T0 + o));
          for (const state of states) {
            expect(state.intervals.length).toBeLessThanOrEqual(defaults.lookbackIntervals);
            const starts = state.intervals.map(([s]) => s);
            expect(starts).toEqual([...starts].sort((a, b) => a - b));
            expect(new Set(starts).size).toBe(starts.length);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps a late event older than the window out of it', () => {
    const { state } = run([...steady(T0 + 100_000, 1, 30), T0]);
    expect(state!.intervals.map(([s]) => s)).toEqual([T0 + 100_000, T0 + 110_000, T0 + 120_000]);
  });

  it('does not change the state it was given (pure)', () => {
    const { state } = run(steady(T0, 10, 3));
    const before = structuredClone(state!);
    requestRateDetector.evaluate({
      event: event(T0 + 2_500),
      state,
      baseline: undefined,
      config: defaults,
    });
    expect(state).toEqual(before);
  });

  it('scores within [0, 1] and votes only bot or clean', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 20, maxLength: 400 }),
        (gaps) => {
          let ts = T0;
          for (const { vote } of run(gaps.map((g) => (ts += g))).votes) {
            expect(vote.score).toBeGreaterThanOrEqual(0);
            expect(vote.score).toBeLessThanOrEqual(1);
            expect(vote.verdict === 'clean' ? vote.score : 1).toBe(
              vote.verdict === 'clean' ? 0 : 1,
            );
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('keys state by the client IP and keeps it twice the lookback', () => {
    expect(requestRateDetector.stateKey(event(T0, '2001:db8::9'))).toBe('2001:db8::9');
    expect(requestRateDetector.stateTtlMs(defaults)).toBe(120_000);
  });
});
