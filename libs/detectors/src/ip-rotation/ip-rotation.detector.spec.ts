import type { TallyReadings } from '../cross-session';
import { resolveDetectorConfig } from '../detector-config';
import { event } from '../testing/events';
import { ipRotationDetector as detector } from './ip-rotation.detector';

const config = resolveDetectorConfig(detector, {}) as { minIps: number; bucketMs: number };

describe('IP rotation', () => {
  const failed = {
    ...event({ method: 'POST', path: '/api/login', usernameHash: 'acct' }),
    auth: { outcome: 'failure' as const },
  };
  const names = (e: typeof failed) => detector.tallies!(e, config).map((t) => t.name);

  it("pools the IPs of an account's failed logins and of a credential session's logins", () => {
    expect(detector.tallies!(failed, config).map((t) => [t.name, t.member])).toEqual([
      ['account-ips', '203.0.113.7'],
      ['account-ips-recent', '203.0.113.7'],
      ['account-owner-ips', undefined], // read, to leave the owner out
    ]);
    const ok = {
      ...failed,
      auth: { outcome: 'success' as const },
      sessionKeyKind: 'credential' as const,
    };
    // A success makes its IP one of the account's owner's.
    expect(detector.tallies!(ok, config).map((t) => [t.name, t.member])).toEqual([
      ['account-owner-ips', '203.0.113.7'],
      ['session-ips', '203.0.113.7'],
      ['session-ips-recent', '203.0.113.7'],
    ]);
    expect(names({ ...ok, auth: { outcome: 'failure' } })).toEqual([
      'account-ips',
      'account-ips-recent',
      'account-owner-ips',
      'session-ips',
      'session-ips-recent',
    ]);
  });

  it("leaves out a credential session's other requests: a phone hops addresses all day", () => {
    const browsing = {
      ...event({ path: '/api/products/7' }),
      sessionKeyKind: 'credential' as const,
    };
    expect(detector.tallies!(browsing, config)).toEqual([]);
    expect(detector.tallies!(event(), config)).toEqual([]);
  });

  it('keeps the members per bucket and counts over a sliding bucket-long window', () => {
    const [members, recent] = detector.tallies!(failed, config);
    expect(members).toMatchObject({ kind: 'members', windowMs: config.bucketMs });
    expect(members.key).toMatch(/\|\d+$/);
    expect(recent).toMatchObject({ kind: 'distinct', windowMs: config.bucketMs });
    expect(recent.key).not.toMatch(/\|\d+$/);
  });

  const judge = (tallies: TallyReadings) =>
    detector.evaluate({ event: event(), state: undefined, baseline: undefined, config, tallies })
      .memberVotes;

  it('votes for the members of a pool that reached minIps', () => {
    expect(judge({ 'session-ips': { count: config.minIps - 1, members: [] } })).toBeUndefined();
    expect(
      judge({
        'session-ips': { count: config.minIps, members: [] },
        'account-ips': { count: 2, members: [] },
      }),
    ).toEqual([expect.objectContaining({ tally: 'session-ips', verdict: 'bot' })]);
  });

  it("excludes the account's owner from the account pool's votes, not from a session's", () => {
    const votes = judge({
      'account-ips': { count: config.minIps, members: [] },
      'session-ips': { count: config.minIps, members: [] },
      'account-owner-ips': { count: 1, members: [{ member: '198.51.100.1', score: 0 }] },
    });
    expect(votes).toEqual([
      expect.objectContaining({ tally: 'account-ips', exclude: ['198.51.100.1'] }),
      expect.not.objectContaining({ exclude: expect.anything() }),
    ]);
  });

  it('keeps voting across a bucket boundary: the sliding count decides, the score grows with it', () => {
    const votes = judge({
      'account-ips': { count: 1, members: [] },
      'account-ips-recent': { count: config.minIps * 3, members: [] },
    });
    expect(votes).toEqual([
      expect.objectContaining({ tally: 'account-ips', verdict: 'bot', score: 1 }),
    ]);
    const early = judge({
      'account-ips': { count: config.minIps, members: [] },
      'account-ips-recent': { count: config.minIps, members: [] },
    });
    expect(early?.[0]?.score).toBeCloseTo(1 / 3);
  });
});
