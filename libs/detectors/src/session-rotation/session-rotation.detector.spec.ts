import type { SessionEvent } from '@moat/contracts';
import { resolveDetectorConfig } from '../detector-config';
import { event, feed, T0 } from '../testing/events';
import { sessionRotationDetector as detector } from './session-rotation.detector';

const config = resolveDetectorConfig(detector, {});

function session(
  s: number,
  requests: number,
  login: boolean,
  over: Parameters<typeof event>[0] = {},
): SessionEvent[] {
  return Array.from({ length: requests }, (_, i) => {
    const e = event({
      sessionId: `s${s}`,
      ts: T0 + s * 10_000 + i * 1_000,
      requestCount: i + 1,
      ...over,
    });
    if (login && i === requests - 1) {
      e.session.authAttempts = 1;
      return { ...e, auth: { outcome: 'failure' as const } };
    }
    return e;
  });
}

describe('session rotation', () => {
  it('votes bot for a client with a new short session around every login', () => {
    const events = Array.from({ length: 12 }, (_, s) => session(s, 2, true)).flat();
    const { bots } = feed(detector, events, config);
    expect(bots.length).toBeGreaterThan(0);
    expect(bots[0].vote.evidence[0]).toMatchObject({ metric: 'sessions', value: 8 });
  });

  it('judges a client with one long session clean', () => {
    const { bots, votes } = feed(detector, session(0, 40, true), config);
    expect(bots).toHaveLength(0);
    expect(votes.map((v) => v.vote.verdict)).toEqual(['clean']);
  });

  it('does not vote bot for many people behind one NAT browsing without logging in', () => {
    const events = Array.from({ length: 20 }, (_, s) =>
      session(s, 3, false, { userAgent: `Browser/${s}` }),
    ).flat();
    expect(feed(detector, events, config).bots).toHaveLength(0);
  });
});
