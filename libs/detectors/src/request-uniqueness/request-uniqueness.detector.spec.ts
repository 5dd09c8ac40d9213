import { resolveDetectorConfig } from '../detector-config';
import { event, feed, fixedBaseline, T0 } from '../testing/events';
import {
  requestUniquenessDetector,
  type RequestUniquenessConfig,
} from './request-uniqueness.detector';

const config = resolveDetectorConfig(requestUniquenessDetector) as RequestUniquenessConfig;
const series = (n: number, gapMs: number, path: (i: number) => string, method = 'GET') =>
  Array.from({ length: n }, (_, i) => event({ ts: T0 + i * gapMs, path: path(i), method }));

describe('request-uniqueness detector', () => {
  it('votes bot on a login form replayed every 200 ms, with the unique share as evidence', () => {
    const { bots } = feed(
      requestUniquenessDetector,
      series(60, 200, () => '/api/login', 'POST'),
      config,
    );
    expect(bots[0].vote.evidence[0]).toMatchObject({
      metric: 'unique_request_share',
      threshold: 0.1,
    });
    expect(bots[0].vote.evidence[0].value).toBeLessThanOrEqual(0.1);
  });

  it('votes clean on a person browsing different products', () => {
    const { votes } = feed(
      requestUniquenessDetector,
      series(60, 4_000, (i) => `/api/products/${i}`),
      config,
    );
    expect(votes.map((v) => v.vote.verdict)).toEqual(['clean']);
  });

  it('does not call a page polling every 30 s a replay', () => {
    const { bots } = feed(
      requestUniquenessDetector,
      series(80, 30_000, () => '/api/notifications'),
      config,
    );
    expect(bots).toEqual([]);
  });

  it('treats query order as the same request', () => {
    const a = event({ ts: T0, path: '/s', query: { a: '1', b: '2' } });
    const b = event({ ts: T0 + 1, path: '/s', query: { b: '2', a: '1' } });
    const { states } = feed(requestUniquenessDetector, [a, b], config);
    const state = [...states.values()][0] as {
      sessions: { data: { recent: [number, number, number][] } }[];
    };
    expect(state.sessions[0].data.recent.map(([, , u]) => u)).toEqual([1, 0]);
  });

  it('keeps its threshold within [floor, ceiling] whatever the baseline says', () => {
    const flood = series(60, 100, () => '/');
    expect(
      feed(requestUniquenessDetector, flood, config, fixedBaseline(1_000, 0)).bots[0].vote
        .evidence[0].threshold,
    ).toBe(config.floor);
    expect(
      feed(requestUniquenessDetector, flood, config, fixedBaseline(1_000, 1)).bots[0].vote
        .evidence[0].threshold,
    ).toBe(config.ceiling);
  });
});
