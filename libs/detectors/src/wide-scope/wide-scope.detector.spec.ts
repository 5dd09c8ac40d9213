import { resolveDetectorConfig } from '../detector-config';
import { event, feed, fixedBaseline, T0 } from '../testing/events';
import { wideScopeDetector, type WideScopeConfig } from './wide-scope.detector';

const config = resolveDetectorConfig(wideScopeDetector) as WideScopeConfig;

describe('wide-scope detector', () => {
  it('votes bot on a client probing many paths that do not exist', () => {
    const probes = Array.from({ length: 20 }, (_, i) =>
      event({ ts: T0 + i * 100, path: `/probe-${i}.php`, status: 404 }),
    );
    const { bots } = feed(wideScopeDetector, probes, config);
    expect(bots[0].vote.evidence[1]).toMatchObject({
      metric: 'distinct_not_found_paths_per_window',
      value: 15,
      threshold: 15,
    });
  });

  it('votes bot on a client walking the whole API, not on its static images', () => {
    const routes = Array.from({ length: 70 }, (_, i) =>
      event({ ts: T0 + i * 1_000, path: `/api/section-${i}`, route: `/api/section-${i}` }),
    );
    expect(feed(wideScopeDetector, routes, config).bots[0].vote.evidence[0]).toMatchObject({
      value: 60,
      threshold: 60,
    });
    const images = Array.from({ length: 200 }, (_, i) =>
      event({
        ts: T0 + i * 100,
        path: `/static/img/p/${i}.webp`,
        route: `/static/img/p/${i}.webp`,
      }),
    );
    expect(feed(wideScopeDetector, images, config).votes).toEqual([]);
  });

  it('forgets endpoints after the window (event time)', () => {
    const early = Array.from({ length: 50 }, (_, i) =>
      event({ ts: T0 + i, path: `/a/${i}x`, route: `/a/${i}x` }),
    );
    const late = Array.from({ length: 50 }, (_, i) =>
      event({ ts: T0 + 2 * 3_600_000 + i, path: `/b/${i}x`, route: `/b/${i}x` }),
    );
    expect(feed(wideScopeDetector, [...early, ...late], config).bots).toEqual([]);
  });

  it('a learned baseline relaxes the limit up to its ceiling, never below the prior', () => {
    const routes = Array.from({ length: 100 }, (_, i) =>
      event({ ts: T0 + i * 1_000, path: `/api/s${i}`, route: `/api/s${i}` }),
    );
    expect(
      feed(wideScopeDetector, routes, config, fixedBaseline(1_000, 1)).bots[0].vote.evidence[0]
        .threshold,
    ).toBe(60);
    expect(
      feed(wideScopeDetector, routes, config, fixedBaseline(1_000, 1_000)).bots[0].vote.evidence[0],
    ).toMatchObject({ threshold: 90, value: 90 });
  });
});
