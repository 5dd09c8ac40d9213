import type { TallyReadings } from '../cross-session';
import { resolveDetectorConfig } from '../detector-config';
import { event } from '../testing/events';
import { ipRotationDetector as detector } from './ip-rotation.detector';

const config = resolveDetectorConfig(detector, {}) as { minIps: number };

describe('IP rotation', () => {
  it("pools the IPs of an account's failed logins and of a credential session", () => {
    const failed = {
      ...event({ method: 'POST', path: '/api/login', usernameHash: 'acct' }),
      auth: { outcome: 'failure' as const },
    };
    expect(detector.tallies!(failed, config).map((t) => [t.name, t.member])).toEqual([
      ['account-ips', '203.0.113.7'],
    ]);
    const ok = {
      ...failed,
      auth: { outcome: 'success' as const },
      sessionKeyKind: 'credential' as const,
    };
    expect(detector.tallies!(ok, config).map((t) => t.name)).toEqual(['session-ips']);
    expect(detector.tallies!(event(), config)).toEqual([]);
  });

  it('votes for the members of a pool that reached minIps', () => {
    const judge = (tallies: TallyReadings) =>
      detector.evaluate({ event: event(), state: undefined, baseline: undefined, config, tallies })
        .memberVotes;
    expect(judge({ 'session-ips': { count: config.minIps - 1, members: [] } })).toBeUndefined();
    expect(
      judge({
        'session-ips': { count: config.minIps, members: [] },
        'account-ips': { count: 2, members: [] },
      }),
    ).toEqual([expect.objectContaining({ tally: 'session-ips', verdict: 'bot' })]);
  });
});
