/** In-memory StateStore for the standalone runtime and unit tests; honours TTLs lazily. */
import type { StateStore, StateWrite } from './state-store';

export class MemoryStateStore implements StateStore {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();
  private writesSinceSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async getMany(keys: string[]): Promise<(string | null)[]> {
    const now = this.now();
    return keys.map((key) => {
      const entry = this.entries.get(key);
      if (!entry) return null;
      if (entry.expiresAt <= now) {
        this.entries.delete(key);
        return null;
      }
      return entry.value;
    });
  }

  async setMany(writes: StateWrite[]): Promise<void> {
    const now = this.now();
    for (const { key, value, ttlMs } of writes) {
      if (value === null) this.entries.delete(key);
      else this.entries.set(key, { value, expiresAt: now + ttlMs });
    }
    this.writesSinceSweep += writes.length;
    if (this.writesSinceSweep > 10_000) this.sweep(now);
  }

  get size(): number {
    return this.entries.size;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.entries.clear();
  }

  private sweep(now: number): void {
    this.writesSinceSweep = 0;
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
