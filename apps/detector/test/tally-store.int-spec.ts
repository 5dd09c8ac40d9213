/**
 * The Redis tally store against the real Redis: the same answers as the in-memory one for the
 * same ops (window counts, caps, trimming, HyperLogLogs, claims), claims handed out once under
 * concurrent claimants on separate connections, and keys under the configured prefix only.
 */
import { randomUUID } from 'node:crypto';
import {
  MemoryTallyStore,
  probeInfrastructure,
  RedisStateStore,
  RedisTallyStore,
  tallyStoreFor,
  type TallyOp,
} from '@moat/stream-kit';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

const zset = (
  member: string | undefined,
  score: number,
  key = 'k',
): Extract<TallyOp, { type: 'zset' }> => ({
  type: 'zset',
  key,
  ...(member !== undefined ? { member } : {}),
  score,
  min: score - 100,
  trimBelow: score - 1_000,
  max: 3,
  ttlMs: 60_000,
  list: 10,
});

describe('RedisTallyStore (real Redis)', () => {
  beforeAll(async () => {
    await probeInfrastructure({ brokers: BROKERS, redisUrl: REDIS_URL }).catch((err: Error) => {
      throw new Error(
        `Integration tests need the real Kafka and Redis (${err.message}); run them through \`npm test\`.`,
      );
    });
  });

  it('answers as the in-memory store does', async () => {
    const prefix = `tally-${randomUUID().slice(0, 8)}:`;
    const redis = new RedisTallyStore({ url: REDIS_URL, prefix });
    await redis.connect();
    const memory = new MemoryTallyStore();
    const ops: TallyOp[] = [
      zset('a', 1_000),
      zset('b', 1_050),
      zset('b', 1_050),
      zset('b', 900),
      zset('c', 1_060),
      zset('d', 1_070),
      zset(undefined, 1_080),
      zset('e', 2_065),
      { type: 'hll', addTo: 'h:1', member: 'x', countKeys: ['h:1'], ttlMs: 60_000 },
      { type: 'hll', addTo: 'h:2', member: 'y', countKeys: ['h:1', 'h:2'], ttlMs: 60_000 },
      { type: 'hll', addTo: 'h:2', member: 'y', countKeys: ['h:1', 'h:2'], ttlMs: 60_000 },
      { type: 'hll', countKeys: ['h:2', 'h:3'], ttlMs: 60_000 },
      // Added only, nothing read (count 0); the next read sees it.
      { type: 'hll', addTo: 'h:3', member: 'z', countKeys: [], ttlMs: 60_000 },
      { type: 'hll', countKeys: ['h:2', 'h:3'], ttlMs: 60_000 },
    ];
    try {
      const fromRedis = await redis.apply(ops);
      expect(fromRedis).toEqual(await memory.apply(ops));
      expect(fromRedis[6].members.map((m) => m.member)).toEqual(['b', 'c', 'd']);
      expect(fromRedis.slice(-3).map((r) => r.count)).toEqual([1, 0, 2]);
      const claims = [
        { key: 'k', min: 0, claimant: 'e1', limit: 10, ttlMs: 60_000 },
        { key: 'k', min: 0, claimant: 'e2', limit: 10, ttlMs: 60_000 },
        { key: 'k', min: 0, claimant: 'e1', limit: 10, ttlMs: 60_000 },
      ];
      expect(await redis.claim(claims)).toEqual(await memory.claim(claims));
    } finally {
      await redis.close();
    }
  });

  it('hands every member to exactly one of many concurrent claimants', async () => {
    const prefix = `tally-${randomUUID().slice(0, 8)}:`;
    const state = new RedisStateStore({ url: REDIS_URL, prefix });
    const stores = Array.from({ length: 4 }, () => tallyStoreFor(state));
    await Promise.all(stores.map((s) => s.connect()));
    try {
      const members = Array.from({ length: 400 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
      // Four writers add and claim at once, each on its own connection.
      const won = await Promise.all(
        stores.map(async (store, w) => {
          const mine: string[] = [];
          for (let i = w; i < members.length; i += stores.length) {
            await store.apply([{ ...zset(members[i], 5_000 + i), min: 0, max: 1_000 }]);
            const [claimed] = await store.claim([
              { key: 'k', min: 0, claimant: `event-${i}`, limit: 1_000, ttlMs: 60_000 },
            ]);
            mine.push(...claimed);
          }
          return mine;
        }),
      );
      const all = won.flat();
      expect(all.length).toBe(members.length);
      expect(new Set(all).size).toBe(members.length);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
