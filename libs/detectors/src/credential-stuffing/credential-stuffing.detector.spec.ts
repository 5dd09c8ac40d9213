import { resolveDetectorConfig } from '../detector-config';
import { event, feed, T0 } from '../testing/events';
import { credentialStuffingDetector as detector } from './credential-stuffing.detector';

const config = resolveDetectorConfig(detector, {}) as { windowMs: number };
const login = (
  i: number,
  over: Parameters<typeof event>[0] = {},
  outcome: 'success' | 'failure' = 'failure',
) => ({
  ...event({
    method: 'POST',
    path: '/api/login',
    ts: T0 + i * 1_000,
    usernameHash: `user-${i}`,
    userAgent: 'python-requests/2.31',
    ...over,
  }),
  auth: { outcome },
});

describe('credential stuffing', () => {
  it('votes bot for one client trying many user names, mostly failing', () => {
    const { bots, votes } = feed(
      detector,
      Array.from({ length: 12 }, (_, i) => login(i)),
      config,
    );
    expect(votes[0].vote.verdict).toBe('clean');
    expect(bots).toHaveLength(1);
    expect(bots[0].event.request.ts).toBe(T0 + 9_000);
    const evidence = Object.fromEntries(bots[0].vote.evidence.map((e) => [e.metric, e.value]));
    expect(evidence).toMatchObject({
      login_attempts: 10,
      distinct_usernames: 10,
      login_failure_share: 1,
    });
  });

  it('does not vote bot for a person retrying one account', () => {
    const events = Array.from({ length: 12 }, (_, i) =>
      login(i, { usernameHash: 'me' }, i === 11 ? 'success' : 'failure'),
    );
    expect(feed(detector, events, config).bots).toHaveLength(0);
  });

  it('keeps the fingerprints of one IP apart (people behind one NAT)', () => {
    const events = Array.from({ length: 24 }, (_, i) =>
      login(i, { userAgent: `Browser/${i % 6}` }),
    );
    expect(feed(detector, events, config).bots).toHaveLength(0);
  });

  it('forgets attempts older than the window (event time)', () => {
    const events = Array.from({ length: 12 }, (_, i) =>
      login(i, { ts: T0 + (i * config.windowMs) / 4 }),
    );
    expect(feed(detector, events, config).bots).toHaveLength(0);
  });
});
