/**
 * Key-value state that outlives a process: Redis in the distributed runtime, a map in the
 * standalone runtime. Values are strings (JSON); batches read and write in one round trip.
 */
export interface StateWrite {
  key: string;
  /** null deletes the key. */
  value: string | null;
  /** Garbage-collection horizon only; logic never relies on it (expiry is event time). */
  ttlMs: number;
}

export interface StateStore {
  readonly kind: 'redis' | 'memory';
  getMany(keys: string[]): Promise<(string | null)[]>;
  setMany(writes: StateWrite[]): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
