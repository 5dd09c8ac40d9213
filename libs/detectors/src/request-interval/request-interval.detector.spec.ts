import { resolveDetectorConfig } from '../detector-config';
import { event, feed, fixedBaseline, T0 } from '../testing/events';
import {
  coefficientOfVariation,
  requestIntervalDetector,
  type RequestIntervalConfig,
} from './request-interval.detector';

const config = resolveDetectorConfig(requestIntervalDetector) as RequestIntervalConfig;
const at = (gaps: readonly number[], path = (i: number) => `/api/products/${i}`) => {
  let ts = T0;
  return [
    event({ ts, path: path(0) }),
    ...gaps.map((g, i) => event({ ts: (ts += g), path: path(i + 1) })),
  ];
};

describe('request-interval detector', () => {
  it('votes bot on a script sleeping a fixed second, with the variation as evidence', () => {
    const { votes, bots } = feed(requestIntervalDetector, at(Array<number>(30).fill(1000)), config);
    expect(bots).toHaveLength(1);
    expect(votes[0].vote.evidence[0]).toMatchObject({
      metric: 'gap_coefficient_of_variation',
      value: 0,
      threshold: 0.2,
    });
    expect(votes[0].event.request.ts).toBe(T0 + 20_000); // judged at minGaps
  });

  it('votes clean on bursty, human-like gaps and does not repeat it', () => {
    const gaps = Array.from({ length: 60 }, (_, i) => (i % 5 === 0 ? 25_000 : 300 + (i % 3) * 900));
    const { votes } = feed(requestIntervalDetector, at(gaps), config);
    expect(votes.map((v) => v.vote.verdict)).toEqual(['clean']);
  });

  it('does not measure a page polling one URL on a timer', () => {
    const poll = at(Array<number>(60).fill(30_000), () => '/api/notifications');
    expect(feed(requestIntervalDetector, poll, config).votes).toEqual([]);
  });

  it('keeps sessions of one IP apart', () => {
    const a = at(Array<number>(30).fill(1000)).map((e) => ({ ...e, sessionId: 'a' }));
    const b = at(Array<number>(30).fill(1000)).map((e) => ({
      ...e,
      sessionId: 'b',
      request: { ...e.request, ts: e.request.ts + 500 },
    }));
    const mixed = [...a, ...b].sort((x, y) => x.request.ts - y.request.ts);
    expect(feed(requestIntervalDetector, mixed, config).bots.length).toBeGreaterThan(0);
  });

  it('refines the threshold from the baseline within [floor, ceiling] and shows the baseline', () => {
    const jittered = at(Array.from({ length: 30 }, (_, i) => 1000 + (i % 2 ? 150 : -150)));
    // CV 0.15: bot on the prior (0.2); a baseline whose 1st percentile is 0.2 gives 0.1: clean.
    expect(feed(requestIntervalDetector, jittered, config).bots).toHaveLength(1);
    const lenient = feed(requestIntervalDetector, jittered, config, fixedBaseline(1000, 0.2));
    expect(lenient.bots).toHaveLength(0);
    expect(lenient.votes[0].vote.evidence[0]).toMatchObject({ threshold: 0.1, baseline: 0.2 });
    // However low the learned values, the threshold stays at the floor: fixed pacing still votes.
    const poisoned = feed(
      requestIntervalDetector,
      at(Array<number>(30).fill(1000)),
      config,
      fixedBaseline(1000, 0),
    );
    expect(poisoned.bots[0].vote.evidence[0].threshold).toBe(config.floor);
  });

  it('learns clean sessions at checkpoints only, never a session under the prior', () => {
    const human = at(Array.from({ length: 80 }, (_, i) => (i % 4 === 0 ? 20_000 : 700)));
    expect(feed(requestIntervalDetector, human, config).observations.map((o) => o.metric)).toEqual([
      'gap_cv',
      'gap_cv',
      'gap_cv',
    ]);
    expect(
      feed(requestIntervalDetector, at(Array<number>(80).fill(1000)), config).observations,
    ).toEqual([]);
  });

  it('computes the coefficient of variation', () => {
    expect(coefficientOfVariation([1, 1, 1])).toBe(0);
    expect(coefficientOfVariation([0, 2])).toBe(1);
    expect(coefficientOfVariation([0, 0])).toBe(0);
  });
});
