import { resolveDetectorConfig } from '../detector-config';
import { event, feed, fixedBaseline, T0 } from '../testing/events';
import { queryAbuseDetector, type QueryAbuseConfig } from './query-abuse.detector';

const config = resolveDetectorConfig(queryAbuseDetector) as QueryAbuseConfig;
const page = (i: number, extra: Record<string, string> = {}) =>
  event({
    ts: T0 + i * 500,
    path: '/api/search',
    route: '/api/search',
    query: { q: 'tv', page: String(i), ...extra },
  });

describe('query-abuse detector', () => {
  it('votes bot when one parameter is walked through threshold values, naming endpoint and parameter', () => {
    const { bots } = feed(
      queryAbuseDetector,
      Array.from({ length: 80 }, (_, i) => page(i)),
      config,
    );
    expect(bots[0].vote.evidence[0]).toMatchObject({
      metric: 'single_parameter_variations',
      value: 60,
      threshold: 60,
      detail: expect.stringContaining('GET /api/search varying page'),
    });
  });

  it('counts path placeholders as parameters (ids enumerated)', () => {
    const ids = Array.from({ length: 70 }, (_, i) =>
      event({ ts: T0 + i * 300, path: `/api/products/${i + 1}` }),
    );
    expect(feed(queryAbuseDetector, ids, config).bots[0].vote.evidence[0].detail).toContain(
      '{id}@3',
    );
  });

  it('does not count requests that change several parameters at once', () => {
    const mixed = Array.from({ length: 80 }, (_, i) => page(i, { q: `term${i}` }));
    expect(feed(queryAbuseDetector, mixed, config).bots).toEqual([]);
  });

  it('votes clean on a person paging a few times', () => {
    const { votes } = feed(
      queryAbuseDetector,
      Array.from({ length: 8 }, (_, i) => page(i)),
      config,
    );
    expect(votes.map((v) => v.vote.verdict)).toEqual(['clean']);
  });

  it('learns per endpoint, only counts under the prior, and a flood cannot lift the limit past the ceiling', () => {
    const many = Array.from({ length: 200 }, (_, i) => page(i));
    const observed = feed(queryAbuseDetector, many, config).observations;
    expect(
      observed.every((o) => o.endpoint === 'GET /api/search' && o.value < config.threshold),
    ).toBe(true);
    const lifted = feed(queryAbuseDetector, many, config, fixedBaseline(10_000, 1_000));
    expect(lifted.bots[0].vote.evidence[0]).toMatchObject({
      threshold: config.ceiling,
      baseline: 1000,
    });
  });
});
