/**
 * Redis data structures beyond key-value state, for what a StateStore cannot express: sorted
 * sets (timers ordered by event time, capped indexes), HyperLogLogs (distinct counts per day
 * that a replayed batch cannot inflate, since adding a member twice changes nothing) and plain
 * strings with a TTL. Writes go in one pipeline; every write is idempotent, so a batch that is
 * processed again after a crash writes the same result.
 *
 * RedisStructureStore is for the distributed runtime; MemoryStructureStore (exact sets in
 * place of HyperLogLogs) for the standalone runtime and unit tests.
 */
import type Redis from 'ioredis';
import { connectRedis, createRedisClient } from './redis-client';
import { ExpiringEntries } from './expiring-entries';

export interface ScoredMember {
  member: string;
  score: number;
}

export type StructureWrite =
  | { op: 'set'; key: string; value: string; ttlMs: number }
  | { op: 'del'; key: string }
  /** Adds or moves members; ttlMs (optional) refreshes the whole set's expiry. */
  | { op: 'zadd'; key: string; members: ScoredMember[]; ttlMs?: number }
  | { op: 'zrem'; key: string; members: string[] }
  /** Removes the members scored below `score`. */
  | { op: 'zremBelow'; key: string; score: number }
  /** Keeps only the `max` highest-scored members. */
  | { op: 'zcap'; key: string; max: number }
  /** Adds members to a HyperLogLog and refreshes its expiry. */
  | { op: 'pfadd'; key: string; members: string[]; ttlMs: number };

export interface StructureStore {
  readonly kind: 'redis' | 'memory';
  connect(): Promise<void>;
  /** String values, null where absent. */
  get(keys: string[]): Promise<(string | null)[]>;
  /** Applies the writes in order, in one round trip. */
  write(ops: StructureWrite[]): Promise<void>;
  /** Members with min <= score <= max, lowest first, at most `limit`. */
  zrangeByScore(key: string, min: number, max: number, limit: number): Promise<ScoredMember[]>;
  /** Members by descending score, skipping `offset`, at most `count`. */
  zrevRange(key: string, offset: number, count: number): Promise<ScoredMember[]>;
  zcard(key: string): Promise<number>;
  /** Distinct members in the union of the HyperLogLogs (0 for absent keys). */
  pfcount(keys: string[]): Promise<number>;
  close(): Promise<void>;
}

export interface RedisStructureOptions {
  url: string;
  /** Prefix of every key (MOAT_REDIS_PREFIX), shared with the state store. */
  prefix: string;
}

export class RedisStructureStore implements StructureStore {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;

  constructor(private readonly options: RedisStructureOptions) {
    this.redis = createRedisClient(options);
  }

  async connect(): Promise<void> {
    await connectRedis(this.redis, this.options.url);
  }

  async get(keys: string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return [];
    return this.redis.mget(keys);
  }

  async write(ops: StructureWrite[]): Promise<void> {
    if (ops.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const op of ops) {
      switch (op.op) {
        case 'set':
          pipeline.set(op.key, op.value, 'PX', ttl(op.ttlMs));
          break;
        case 'del':
          pipeline.del(op.key);
          break;
        case 'zadd':
          if (op.members.length === 0) break;
          pipeline.zadd(op.key, ...op.members.flatMap((m) => [m.score, m.member]));
          if (op.ttlMs !== undefined) pipeline.pexpire(op.key, ttl(op.ttlMs));
          break;
        case 'zrem':
          if (op.members.length > 0) pipeline.zrem(op.key, ...op.members);
          break;
        case 'zremBelow':
          pipeline.zremrangebyscore(op.key, '-inf', `(${op.score}`);
          break;
        case 'zcap':
          pipeline.zremrangebyrank(op.key, 0, -(op.max + 1));
          break;
        case 'pfadd':
          if (op.members.length === 0) break;
          pipeline.pfadd(op.key, ...op.members);
          pipeline.pexpire(op.key, ttl(op.ttlMs));
          break;
      }
    }
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
  }

  async zrangeByScore(
    key: string,
    min: number,
    max: number,
    limit: number,
  ): Promise<ScoredMember[]> {
    const flat = await this.redis.zrangebyscore(
      key,
      bound(min),
      bound(max),
      'WITHSCORES',
      'LIMIT',
      0,
      limit,
    );
    return pairs(flat);
  }

  async zrevRange(key: string, offset: number, count: number): Promise<ScoredMember[]> {
    if (count <= 0) return [];
    return pairs(await this.redis.zrevrange(key, offset, offset + count - 1, 'WITHSCORES'));
  }

  async zcard(key: string): Promise<number> {
    return this.redis.zcard(key);
  }

  async pfcount(keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return this.redis.pfcount(...keys);
  }

  async close(): Promise<void> {
    if (this.redis.status === 'end' || this.redis.status === 'wait') {
      this.redis.disconnect();
      return;
    }
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

const ttl = (ms: number) => Math.max(1, Math.round(ms));
const bound = (n: number) => (n === Infinity ? '+inf' : n === -Infinity ? '-inf' : String(n));

function pairs(flat: string[]): ScoredMember[] {
  const out: ScoredMember[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2)
    out.push({ member: flat[i], score: Number(flat[i + 1]) });
  return out;
}

type MemoryEntry =
  | { type: 'string'; value: string; expiresAt: number }
  | { type: 'zset'; members: Map<string, number>; expiresAt: number }
  | { type: 'hll'; members: Set<string>; expiresAt: number };

/** In-memory StructureStore: exact sets stand in for HyperLogLogs; TTLs honoured lazily. */
export class MemoryStructureStore implements StructureStore {
  readonly kind = 'memory' as const;
  private readonly entries: ExpiringEntries<MemoryEntry>;

  constructor(private readonly now: () => number = Date.now) {
    this.entries = new ExpiringEntries(now);
  }

  async connect(): Promise<void> {}

  async get(keys: string[]): Promise<(string | null)[]> {
    return keys.map((key) => {
      const entry = this.live(key);
      return entry?.type === 'string' ? entry.value : null;
    });
  }

  async write(ops: StructureWrite[]): Promise<void> {
    const now = this.now();
    for (const op of ops) {
      switch (op.op) {
        case 'set':
          this.entries.set(op.key, { type: 'string', value: op.value, expiresAt: now + op.ttlMs });
          break;
        case 'del':
          this.entries.delete(op.key);
          break;
        case 'zadd': {
          if (op.members.length === 0) break;
          const set = this.zset(op.key, true)!;
          for (const m of op.members) set.members.set(m.member, m.score);
          if (op.ttlMs !== undefined) set.expiresAt = now + op.ttlMs;
          break;
        }
        case 'zrem': {
          const set = this.zset(op.key, false);
          for (const m of op.members) set?.members.delete(m);
          this.dropIfEmpty(op.key);
          break;
        }
        case 'zremBelow': {
          const set = this.zset(op.key, false);
          for (const [member, score] of set?.members ?? []) {
            if (score < op.score) set!.members.delete(member);
          }
          this.dropIfEmpty(op.key);
          break;
        }
        case 'zcap': {
          const set = this.zset(op.key, false);
          if (!set || set.members.size <= op.max) break;
          const drop = sortAscending(set.members).slice(0, set.members.size - op.max);
          for (const m of drop) set.members.delete(m.member);
          this.dropIfEmpty(op.key);
          break;
        }
        case 'pfadd': {
          if (op.members.length === 0) break;
          let entry = this.live(op.key);
          if (entry?.type !== 'hll') {
            entry = { type: 'hll', members: new Set(), expiresAt: Infinity };
            this.entries.set(op.key, entry);
          }
          for (const m of op.members) entry.members.add(m);
          entry.expiresAt = now + op.ttlMs;
          break;
        }
      }
    }
    this.entries.wrote(ops.length, now);
  }

  async zrangeByScore(
    key: string,
    min: number,
    max: number,
    limit: number,
  ): Promise<ScoredMember[]> {
    const set = this.zset(key, false);
    if (!set) return [];
    return sortAscending(set.members)
      .filter((m) => m.score >= min && m.score <= max)
      .slice(0, limit);
  }

  async zrevRange(key: string, offset: number, count: number): Promise<ScoredMember[]> {
    const set = this.zset(key, false);
    if (!set || count <= 0) return [];
    return sortAscending(set.members)
      .reverse()
      .slice(offset, offset + count);
  }

  async zcard(key: string): Promise<number> {
    return this.zset(key, false)?.members.size ?? 0;
  }

  async pfcount(keys: string[]): Promise<number> {
    const union = new Set<string>();
    for (const key of keys) {
      const entry = this.live(key);
      if (entry?.type === 'hll') for (const m of entry.members) union.add(m);
    }
    return union.size;
  }

  /** Keys currently held (tests: bounded retention). */
  get size(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  private live(key: string): MemoryEntry | undefined {
    return this.entries.live(key);
  }

  private zset(key: string, create: boolean) {
    const entry = this.live(key);
    if (entry?.type === 'zset') return entry;
    if (!create) return undefined;
    const fresh: MemoryEntry & { type: 'zset' } = {
      type: 'zset',
      members: new Map(),
      expiresAt: Infinity,
    };
    this.entries.set(key, fresh);
    return fresh;
  }

  private dropIfEmpty(key: string): void {
    const entry = this.entries.live(key);
    if (entry?.type === 'zset' && entry.members.size === 0) this.entries.delete(key);
  }
}

/** Redis orders equal scores by member (lexicographically); so does this. */
function sortAscending(members: Map<string, number>): ScoredMember[] {
  return [...members]
    .map(([member, score]) => ({ member, score }))
    .sort((a, b) => a.score - b.score || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
}
