import { resolveDetectorConfig } from './detector-config';
import { requestRateDetector } from './request-rate/request-rate.detector';

describe('resolveDetectorConfig', () => {
  it('applies every default when nothing is overridden', () => {
    const expected = {
      intervalMs: 10_000,
      threshold: 50,
      lookbackIntervals: 6,
      voteShare: 0.5,
      minRequests: 20,
      repeatVoteMs: 60_000,
    };
    expect(resolveDetectorConfig(requestRateDetector)).toEqual(expected);
    expect(resolveDetectorConfig(requestRateDetector, null)).toEqual(expected);
  });

  it('keeps overrides and fills in the rest, without touching the caller object', () => {
    const overrides = { threshold: 120 };
    const config = resolveDetectorConfig(requestRateDetector, overrides);
    expect(config).toMatchObject({ threshold: 120, intervalMs: 10_000, minRequests: 20 });
    expect(overrides).toEqual({ threshold: 120 });
  });

  it('rejects a bad value with a one-line message naming the detector and the field', () => {
    expect(() => resolveDetectorConfig(requestRateDetector, { threshold: 0 })).toThrow(
      'Invalid configuration for detector request-rate: /threshold must be >= 1.',
    );
    expect(() => resolveDetectorConfig(requestRateDetector, { intervalMs: 'fast' })).toThrow(
      /request-rate: \/intervalMs must be integer/,
    );
    expect(() => resolveDetectorConfig(requestRateDetector, { voteShare: 0 })).toThrow(
      /\/voteShare must be > 0/,
    );
  });

  it('names an unknown field (a typo) instead of only saying there is one', () => {
    expect(() => resolveDetectorConfig(requestRateDetector, { treshold: 10 })).toThrow(
      /'treshold'/,
    );
  });

  it('rejects a configuration that is not an object', () => {
    expect(() => resolveDetectorConfig(requestRateDetector, 5)).toThrow(
      /request-rate: \(root\) must be object/,
    );
  });
});
