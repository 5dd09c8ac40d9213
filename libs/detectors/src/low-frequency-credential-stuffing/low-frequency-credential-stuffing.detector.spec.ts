import type { TallyReadings } from '../cross-session';
import { resolveDetectorConfig } from '../detector-config';
import { event, T0 } from '../testing/events';
import { lowFrequencyCredentialStuffingDetector as detector } from './low-frequency-credential-stuffing.detector';

const config = resolveDetectorConfig(detector, {}) as { minIps: number; bucketMs: number };
const attempt = (
  over: Parameters<typeof event>[0] = {},
  outcome: 'success' | 'failure' = 'failure',
) => {
  const e = { ...event({ method: 'POST', path: '/api/login', ...over }), auth: { outcome } };
  e.session.authAttempts = e.session.requestCount;
  return e;
};
const readings = (isolated: number, all: number, recent = isolated): TallyReadings => ({
  'isolated-ips': { count: isolated, members: [] },
  'fingerprint-ips': { count: all, members: [] },
  'isolated-ips-recent': { count: recent, members: [] },
});
const judge = (tallies: TallyReadings) =>
  detector.evaluate({ event: attempt(), state: undefined, baseline: undefined, config, tallies });

describe('low-frequency credential stuffing', () => {
  it('counts an isolated failed attempt into its fingerprint cluster of the bucket', () => {
    const tallies = detector.tallies!(attempt(), config);
    expect(tallies.map((t) => t.name)).toEqual([
      'fingerprint-ips',
      'isolated-ips',
      'isolated-ips-recent',
    ]);
    const isolated = tallies[1];
    expect(isolated.member).toBe('203.0.113.7');
    expect(isolated.key).toContain(`|${Math.floor(T0 / config.bucketMs)}`);
    // Same fingerprint from another IP: same cluster; another User-Agent: another one.
    expect(detector.tallies!(attempt({ ip: '198.51.100.1' }), config)[1].key).toBe(isolated.key);
    expect(detector.tallies!(attempt({ userAgent: 'curl/8' }), config)[1].key).not.toBe(
      isolated.key,
    );
  });

  it('does not count successes, sessions that did more than log in, or a third attempt', () => {
    const names = (e: ReturnType<typeof attempt>) =>
      detector.tallies!(e, config).map((t) => t.name);
    expect(names(attempt({}, 'success'))).toEqual(['fingerprint-ips']);
    const browsed = attempt({ requestCount: 3 });
    browsed.session.authAttempts = 1;
    expect(names(browsed)).toEqual(['fingerprint-ips']);
    expect(names(attempt({ requestCount: 3 }))).toEqual(['fingerprint-ips']);
  });

  it("adds every event's IP to its fingerprint's count, reading the count only for isolated attempts", () => {
    const [all] = detector.tallies!(attempt({}, 'success'), config);
    expect(all).toMatchObject({ name: 'fingerprint-ips', read: false, windowMs: config.bucketMs });
    expect(detector.tallies!(attempt(), config)[0]).toMatchObject({ read: true });
  });

  it('votes for every IP of a large cluster that is most of its fingerprint', () => {
    expect(judge(readings(config.minIps - 1, config.minIps)).memberVotes).toBeUndefined();
    expect(judge(readings(config.minIps * 4, config.minIps * 20)).memberVotes).toBeUndefined();
    const { memberVotes } = judge(readings(config.minIps * 4, config.minIps * 5));
    expect(memberVotes).toHaveLength(1);
    expect(memberVotes![0]).toMatchObject({ tally: 'isolated-ips', verdict: 'bot' });
  });

  it('counts over the last bucket, sliding: a recognised campaign stays recognised across the boundary', () => {
    const score = (isolated: number, recent: number) =>
      judge(readings(isolated, isolated, recent)).memberVotes![0].score;
    // Just past the gate in a fresh bucket: a cluster of 25 is a quarter certain…
    expect(score(config.minIps, config.minIps)).toBeCloseTo(0.25);
    // …unless the same cluster was already large in the hours before the boundary.
    expect(score(config.minIps, config.minIps * 4)).toBe(1);
    // The share past the gate does not lower the score (a spoofed, popular fingerprint).
    expect(judge(readings(100, 180)).memberVotes![0].score).toBe(1);
    // The first isolated IP of a new bucket is voted for at once when the cluster of the last
    // bucket-long window is past the gate…
    expect(judge(readings(1, 520, 500)).memberVotes![0]).toMatchObject({ score: 1 });
    // …and not when people of that fingerprint outnumber it over the same window.
    expect(judge(readings(1, 1_200, 500)).memberVotes).toBeUndefined();
  });

  it('votes nothing where no host keeps tallies', () => {
    expect(
      detector.evaluate({ event: attempt(), state: undefined, baseline: undefined, config }),
    ).toEqual({ state: undefined });
  });
});
