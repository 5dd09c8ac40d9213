import type { TallyReadings } from '../cross-session';
import { resolveDetectorConfig } from '../detector-config';
import { event, T0 } from '../testing/events';
import {
  authenticationAbuseDetector as detector,
  type AuthenticationAbuseState,
} from './authentication-abuse.detector';

const config = resolveDetectorConfig(detector, {}) as {
  intervalMs: number;
  minAuthPerInterval: number;
};
const login = (i: number, gapMs = 5_000) => ({
  ...event({ method: 'POST', path: '/api/login', ts: T0 + i * gapMs }),
  auth: { outcome: 'failure' as const },
});

/** The application's volume: `normal` auth requests per interval over the day, `now` in this one. */
const app = (normal: number, now: number): TallyReadings => ({
  'app-auth-interval': { count: now, members: [] },
  'app-auth-day': { count: normal * (86_400_000 / config.intervalMs) + now, members: [] },
});

function run(count: number, tallies: (i: number) => TallyReadings, gapMs = 5_000) {
  let state: AuthenticationAbuseState | undefined;
  const verdicts: string[] = [];
  for (let i = 0; i < count; i++) {
    const result = detector.evaluate({
      event: login(i, gapMs),
      state,
      baseline: undefined,
      config,
      tallies: tallies(i),
    });
    state = result.state as AuthenticationAbuseState;
    if (result.vote) verdicts.push(result.vote.verdict);
  }
  return verdicts;
}

describe('authentication abuse', () => {
  it('declares the application volume tallies for authentication requests only', () => {
    expect(detector.tallies!(login(0), config).map((t) => t.name)).toEqual([
      'app-auth-interval',
      'app-auth-day',
    ]);
    expect(detector.tallies!(event(), config)).toEqual([]);
  });

  it('votes bot for a client over the prior threshold at normal volume', () => {
    expect(run(12, (i) => app(20, 20 + i))).toEqual(['clean', 'bot']);
  });

  it("raises the threshold with the application's surge, not with the client's own requests", () => {
    // Everyone else logs in ten times as much (a campaign): 12 logins from one NAT are normal.
    expect(run(12, (i) => app(20, 200 + i))).toEqual(['clean']);
    // The client alone makes the whole surge: its own requests do not count.
    expect(run(12, (i) => app(20, i + 1))).toEqual(['clean', 'bot']);
  });

  it('still votes bot for a client far above a surged threshold', () => {
    // 250 logins in one interval, 25 times the prior: over ten times the surged threshold.
    expect(run(250, (i) => app(20, 200 + i), 1_000)).toContain('bot');
  });
});
