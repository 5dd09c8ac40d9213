import { GraylistLimiter } from './graylist-limiter';

describe('GraylistLimiter', () => {
  it('lets a burst through, then the rate, and says how long to wait', () => {
    const limiter = new GraylistLimiter({ ratePerSecond: 2, burst: 3 });
    const t = 1_000_000;
    expect([0, 1, 2].map(() => limiter.take('a', t))).toEqual([0, 0, 0]);
    expect(limiter.take('a', t)).toBe(500);
    expect(limiter.take('a', t + 250)).toBe(250);
    expect(limiter.take('a', t + 500)).toBe(0);
    expect(limiter.take('a', t + 500)).toBe(500);
    // Another client has its own bucket.
    expect(limiter.take('b', t + 500)).toBe(0);
  });

  it('refills up to the burst, not beyond', () => {
    const limiter = new GraylistLimiter({ ratePerSecond: 1, burst: 2 });
    limiter.take('a', 0);
    limiter.take('a', 0);
    const later = 3_600_000;
    expect([limiter.take('a', later), limiter.take('a', later), limiter.take('a', later)]).toEqual([
      0, 0, 1000,
    ]);
  });

  it('keeps at most maxClients buckets, dropping the least recently seen', () => {
    const limiter = new GraylistLimiter({ ratePerSecond: 1, burst: 1, maxClients: 2 });
    limiter.take('a', 0);
    limiter.take('b', 0);
    limiter.take('a', 1); // a is now the most recent
    limiter.take('c', 1); // evicts b
    expect(limiter.trackedClients).toBe(2);
    expect(limiter.take('a', 1)).toBeGreaterThan(0); // a kept its empty bucket
    expect(limiter.take('b', 1)).toBe(0); // b starts afresh
  });

  it('refuses a rate or burst that would block everything', () => {
    expect(() => new GraylistLimiter({ ratePerSecond: 0, burst: 1 })).toThrow('rate');
    expect(() => new GraylistLimiter({ ratePerSecond: 1, burst: 0 })).toThrow('burst');
  });
});
