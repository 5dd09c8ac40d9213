/**
 * The "slowed" half of graylisting: a token bucket per graylisted client. Each request takes a
 * token; a client without one is answered 429 with Retry-After. Buckets refill at `ratePerSecond`
 * up to `burst`. Wall clock: this is live enforcement, not event-time processing. Memory is
 * bounded: past `maxClients` the least recently seen client's bucket is dropped (it starts full
 * again, which only ever errs towards letting a request through).
 */
export interface GraylistLimiterOptions {
  /** Sustained requests per second a graylisted client may make (outside critical endpoints). */
  ratePerSecond: number;
  /** Requests it may make at once before the rate applies. */
  burst: number;
  maxClients?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class GraylistLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxClients: number;

  constructor(options: GraylistLimiterOptions) {
    if (!(options.ratePerSecond > 0)) throw new Error('graylist rate must be above 0');
    if (!(options.burst >= 1)) throw new Error('graylist burst must be at least 1');
    this.rate = options.ratePerSecond;
    this.burst = options.burst;
    this.maxClients = options.maxClients ?? 100_000;
  }

  /** Takes a token for `client`: 0 when the request may pass, else milliseconds until it may. */
  take(client: string, now: number): number {
    let bucket = this.buckets.get(client);
    if (bucket) {
      this.buckets.delete(client); // re-inserted below: the map's order is recency
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
      bucket.at = now;
    } else {
      bucket = { tokens: this.burst, at: now };
      if (this.buckets.size >= this.maxClients) {
        this.buckets.delete(this.buckets.keys().next().value!);
      }
    }
    this.buckets.set(client, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) / this.rate) * 1000);
  }

  get trackedClients(): number {
    return this.buckets.size;
  }
}
