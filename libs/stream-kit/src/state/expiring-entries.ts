/**
 * The TTL bookkeeping of the in-memory stores (structures, tallies): entries keyed by name,
 * each with an expiry on the store's clock (event time in replay). An expired entry is dropped
 * when it is next read, and a sweep every `sweepEvery` writes bounds what is never read again.
 */
export class ExpiringEntries<E extends { expiresAt: number }> {
  private readonly entries = new Map<string, E>();
  private writesSinceSweep = 0;

  constructor(
    private readonly now: () => number,
    private readonly sweepEvery = 10_000,
  ) {}

  /** The entry under `key` unless it has expired (an expired one is dropped). */
  live(key: string): E | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, entry: E): void {
    this.entries.set(key, entry);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Counts `n` writes; every `sweepEvery` of them, drops what has expired by `now`. */
  wrote(n: number, now: number): void {
    this.writesSinceSweep += n;
    if (this.writesSinceSweep > this.sweepEvery) this.sweep(now);
  }

  /** Entries held, after dropping the expired ones. */
  get size(): number {
    this.sweep(this.now());
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }

  private sweep(now: number): void {
    this.writesSinceSweep = 0;
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
