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
const ATTACKER = '198.51.100.9';
const history = (times: number[], owners: string[] = [], ip = ATTACKER): TallyReadings => ({
  'account-failures': {
    count: times.length,
    members: times.map((t, i) => ({ member: `${ip} e${i}`, score: t })),
  },
  'account-owner-ips': {
    count: owners.length,
    members: owners.map((m) => ({ member: m, score: T0 })),
  },
});
const judge = (ts: number, times: number[], owners: string[] = [], ip = ATTACKER) =>
  detector.evaluate({
    event: failure(ts),
    state: undefined,
    baseline: undefined,
    config,
    tallies: history(times, owners, ip),
  }).vote;
const BURSTS = [0, 5, 4 * HOUR, 4 * HOUR + 5, 9 * HOUR, 9 * HOUR + 5].map((d) => T0 + d);

describe('persistent ATO', () => {
  it("keeps an account's failed logins for the lookback, across sessions", () => {
    const [tally, owners] = detector.tallies!(failure(T0), config);
    expect(tally).toMatchObject({
      kind: 'members',
      name: 'account-failures',
      member: expect.stringMatching(/^203\.0\.113\.7 /),
      windowMs: 7 * 24 * HOUR,
    });
    // A failure reads the owner's IPs without adding to them; a success adds its IP.
    expect(owners).toMatchObject({ name: 'account-owner-ips', list: config.maxOwnerIps });
    expect(owners.member).toBeUndefined();
    expect(detector.tallies!({ ...failure(T0), auth: { outcome: 'success' } }, config)).toEqual([
      expect.objectContaining({ name: 'account-owner-ips', member: '203.0.113.7' }),
    ]);
    expect(detector.tallies!(event({ usernameHash: 'acct' }), config)).toEqual([]);
  });

  it('votes bot once failures come in separate bursts over hours', () => {
    expect(judge(BURSTS.at(-1)!, BURSTS)).toMatchObject({ verdict: 'bot' });
  });

  it("leaves out the account's owner: an IP that logged into it, and its typos", () => {
    // The event's own IP (203.0.113.7) logged into the account: a typo, not an attempt.
    expect(judge(BURSTS.at(-1)!, BURSTS, ['203.0.113.7'])).toBeUndefined();
    // The owner's failures do not make the account look attacked either.
    expect(judge(BURSTS.at(-1)!, BURSTS, [ATTACKER], ATTACKER)).toBeUndefined();
    expect(judge(BURSTS.at(-1)!, BURSTS, ['192.0.2.1'])).toMatchObject({ verdict: 'bot' });
    // Attempts recorded before owners were kept (the event id only) still count.
    const legacy = history(BURSTS, ['203.0.113.7']);
    legacy['account-failures'].members.forEach((m) => (m.member = m.member.split(' ')[1]));
    expect(
      detector.evaluate({
        event: {
          ...failure(BURSTS.at(-1)!),
          request: { ...failure(0).request, ip: ATTACKER, ts: BURSTS.at(-1)! },
        },
        state: undefined,
        baseline: undefined,
        config,
        tallies: legacy,
      }).vote,
    ).toMatchObject({ verdict: 'bot' });
  });

  it('does not vote for one burst of typos, however many', () => {
    const burst = Array.from({ length: 10 }, (_, i) => T0 + i * 30_000);
    expect(judge(burst.at(-1)!, burst)).toBeUndefined();
  });

  it('judges a late event on its own past only', () => {
    expect(judge(BURSTS[1], BURSTS)).toBeUndefined();
  });
});
