import type { TallyReadings } from '../cross-session';
import { resolveDetectorConfig } from '../detector-config';
import { event, T0 } from '../testing/events';
import { persistentAtoDetector as detector } from './persistent-ato.detector';

const config = resolveDetectorConfig(detector, {});
const HOUR = 3_600_000;
const failure = (ts: number) => ({
  ...event({ method: 'POST', path: '/api/login', usernameHash: 'acct', ts }),
  auth: { outcome: 'failure' as const },
});
const history = (times: number[]): TallyReadings => ({
  'account-failures': {
    count: times.length,
    members: times.map((t, i) => ({ member: `e${i}`, score: t })),
  },
});
const judge = (ts: number, times: number[]) =>
  detector.evaluate({
    event: failure(ts),
    state: undefined,
    baseline: undefined,
    config,
    tallies: history(times),
  }).vote;

describe('persistent ATO', () => {
  it("keeps an account's failed logins for the lookback, across sessions", () => {
    const [tally] = detector.tallies!(failure(T0), config);
    expect(tally).toMatchObject({
      kind: 'members',
      name: 'account-failures',
      windowMs: 7 * 24 * HOUR,
    });
    expect(detector.tallies!({ ...failure(T0), auth: { outcome: 'success' } }, config)).toEqual([]);
  });

  it('votes bot once failures come in separate bursts over hours', () => {
    const bursts = [0, 5, 4 * HOUR, 4 * HOUR + 5, 9 * HOUR, 9 * HOUR + 5].map((d) => T0 + d);
    expect(judge(bursts.at(-1)!, bursts)).toMatchObject({ verdict: 'bot' });
  });

  it('does not vote for one burst of typos, however many', () => {
    const burst = Array.from({ length: 10 }, (_, i) => T0 + i * 30_000);
    expect(judge(burst.at(-1)!, burst)).toBeUndefined();
  });

  it('judges a late event on its own past only', () => {
    const bursts = [0, 5, 4 * HOUR, 4 * HOUR + 5, 9 * HOUR, 9 * HOUR + 5].map((d) => T0 + d);
    expect(judge(bursts[1], bursts)).toBeUndefined();
  });
});
