/**
 * One way to open Redis for every Redis-backed store of the kit (state, structures, tallies):
 * the same client options, key prefix, and the same one-line error when Redis is unreachable.
 */
import Redis from 'ioredis';

export interface RedisConnection {
  url: string;
  /** Prefix of every key, so several deployments or test runs can share one Redis. */
  prefix: string;
}

export function createRedisClient(connection: RedisConnection): Redis {
  return new Redis(connection.url, {
    lazyConnect: true,
    keyPrefix: connection.prefix,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
  });
}

/** Connects (once) and pings; a failure says what to do in one line. */
export async function connectRedis(redis: Redis, url: string): Promise<void> {
  if (redis.status === 'ready') return;
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(
      `Cannot reach Redis at ${url} (${(err as Error).message}): start Redis or set REDIS_URL.`,
    );
  }
}
