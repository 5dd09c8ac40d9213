/** Redis StateStore: MGET to read a batch's state, one pipeline to write it back. */
import type Redis from 'ioredis';
import { connectRedis, createRedisClient } from './redis-client';
import type { StateStore, StateWrite } from './state-store';

export interface RedisStoreOptions {
  url: string;
  /** Prefix of every key, so several deployments or test runs can share one Redis. */
  prefix: string;
}

export class RedisStateStore implements StateStore {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;

  constructor(private readonly options: RedisStoreOptions) {
    this.redis = createRedisClient(options);
  }

  async connect(): Promise<void> {
    await connectRedis(this.redis, this.options.url);
  }

  /** Where this store connects (for companion stores that share its Redis and prefix). */
  get connection(): RedisStoreOptions {
    return { ...this.options };
  }

  async serverVersion(): Promise<string> {
    const info = await this.redis.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  }

  async getMany(keys: string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return [];
    return this.redis.mget(keys);
  }

  async setMany(writes: StateWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const { key, value, ttlMs } of writes) {
      if (value === null) pipeline.del(key);
      else pipeline.set(key, value, 'PX', Math.max(1, Math.round(ttlMs)));
    }
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
  }

  /** Counts keys under this store's prefix matching `pattern` (SCAN; for operations and tests). */
  async countKeys(pattern = '*'): Promise<number> {
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await this.redis.scan(
        cursor,
        'MATCH',
        `${this.options.prefix}${pattern}`,
        'COUNT',
        1000,
      );
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
    return count;
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  get status(): string {
    return this.redis.status;
  }

  async close(): Promise<void> {
    if (this.redis.status === 'end') return;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
