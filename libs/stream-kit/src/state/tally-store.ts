/**
 * Cross-session tallies: state keyed by something other than the message key (an account hash,
 * a client fingerprint, an application), which events of many partitions — and so several
 * replicas at once — update concurrently.
 *
 * Correct under concurrent writers and redelivery because every update is commutative and
 * idempotent and is applied, with the read that follows it, atomically in Redis (one Lua script):
 * - `zset`: ZADD GT of (event time, member) — adding a member again, or out of order, keeps the
 *   latest event time, so re-applying a batch changes nothing; trimmed by event time, capped to
 *   the newest `max` members, expiring after `ttlMs`; read back (count in the window and, up to
 *   `list`, the members) in the same script, so the read sees this event's own write.
 * - `hll`: PFADD of a member into an event-time bucket (a HyperLogLog, ≤ 12 KB), read back as
 *   the PFCOUNT of the buckets that cover the window (none: added only, the count is 0).
 * - `claim`: assigns each window member that nobody claimed yet to `claimant` (HSETNX) and
 *   returns the members this claimant holds — a replayed claimant gets the same members back,
 *   a concurrent one gets the others, so each member is handed out exactly once.
 * Ops of one call run in order in one pipeline (one round trip).
 *
 * RedisTallyStore is for the distributed runtime; MemoryTallyStore (exact sets for HyperLogLogs)
 * for the standalone runtime and tests.
 */
import type Redis from 'ioredis';
import { connectRedis, createRedisClient } from './redis-client';
import { RedisStateStore } from './redis-store';
import type { StateStore } from './state-store';
import { ExpiringEntries } from './expiring-entries';

export interface TallyMember {
  member: string;
  score: number;
}

export type TallyOp =
  | {
      type: 'zset';
      key: string;
      /** Added with `score` (ZADD GT); omitted: read only. */
      member?: string;
      score: number;
      /** The window: members scored at or above `min` are counted (and listed). */
      min: number;
      /** Members scored below are removed (retention horizon, event time). */
      trimBelow: number;
      /** At most this many members are kept (the newest). */
      max: number;
      ttlMs: number;
      /** How many window members (lowest score first) to return; 0 for the count only. */
      list: number;
    }
  | {
      type: 'hll';
      /** The bucket the member is added to; omitted: read only. */
      addTo?: string;
      member?: string;
      /** The buckets whose union is counted; empty: nothing is read (the count is 0). */
      countKeys: string[];
      ttlMs: number;
    };

export interface TallyResult {
  count: number;
  members: TallyMember[];
}

export interface ClaimOp {
  /** The zset whose window members are claimed. */
  key: string;
  min: number;
  /** Who claims (an event id): claiming again returns the same members. */
  claimant: string;
  limit: number;
  ttlMs: number;
}

export interface TallyStore {
  readonly kind: 'redis' | 'memory';
  connect(): Promise<void>;
  apply(ops: TallyOp[]): Promise<TallyResult[]>;
  claim(ops: ClaimOp[]): Promise<string[][]>;
  close(): Promise<void>;
}

const claimsKey = (key: string) => `${key}:claims`;

const APPLY_ZSET = `
if ARGV[1] ~= '' then
  redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4])
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[5]) + 1))
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end
local count = redis.call('ZCOUNT', KEYS[1], ARGV[3], '+inf')
local list = {}
if tonumber(ARGV[7]) > 0 then
  list = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[3], '+inf', 'WITHSCORES', 'LIMIT', 0, ARGV[7])
end
return {count, list}
`;

const APPLY_HLL = `
if ARGV[1] ~= '' then
  redis.call('PFADD', KEYS[1], ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if #KEYS < 2 then return 0 end
local counted = {}
for i = 2, #KEYS do counted[#counted + 1] = KEYS[i] end
return redis.call('PFCOUNT', unpack(counted))
`;

const CLAIM = `
local members = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf', 'LIMIT', 0, ARGV[3])
local mine = {}
for _, m in ipairs(members) do
  redis.call('HSETNX', KEYS[2], m, ARGV[2])
  if redis.call('HGET', KEYS[2], m) == ARGV[2] then mine[#mine + 1] = m end
end
if #members > 0 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
return mine
`;

type TallyRedis = Redis & {
  tallyZset(...args: (string | number)[]): Promise<[number, string[]]>;
  tallyHll(...args: (string | number)[]): Promise<number>;
  tallyClaim(...args: (string | number)[]): Promise<string[]>;
};

export interface RedisTallyOptions {
  url: string;
  /** Prefix of every key (MOAT_REDIS_PREFIX), shared with the state store. */
  prefix: string;
}

export class RedisTallyStore implements TallyStore {
  readonly kind = 'redis' as const;
  private readonly redis: TallyRedis;

  constructor(private readonly options: RedisTallyOptions) {
    const redis = createRedisClient(options);
    redis.defineCommand('tallyZset', { numberOfKeys: 1, lua: APPLY_ZSET });
    redis.defineCommand('tallyHll', { lua: APPLY_HLL });
    redis.defineCommand('tallyClaim', { numberOfKeys: 2, lua: CLAIM });
    this.redis = redis as TallyRedis;
  }

  async connect(): Promise<void> {
    await connectRedis(this.redis, this.options.url);
  }

  async apply(ops: TallyOp[]): Promise<TallyResult[]> {
    if (ops.length === 0) return [];
    const pipeline = this.redis.pipeline() as unknown as TallyRedis;
    for (const op of ops) {
      if (op.type === 'zset') {
        void pipeline.tallyZset(
          op.key,
          op.member ?? '',
          op.score,
          op.min,
          op.trimBelow,
          op.max,
          ttl(op.ttlMs),
          op.list,
        );
      } else {
        const keys = [op.addTo ?? op.countKeys[0], ...op.countKeys];
        // numberOfKeys is dynamic for the HyperLogLog script: passed first.
        void pipeline.tallyHll(
          keys.length,
          ...keys,
          op.addTo ? (op.member ?? '') : '',
          ttl(op.ttlMs),
        );
      }
    }
    const results = await (pipeline as unknown as ReturnType<Redis['pipeline']>).exec();
    return ops.map((op, i) => {
      const [error, value] = results![i];
      if (error) throw error;
      if (op.type === 'hll') return { count: Number(value), members: [] };
      const [count, flat] = value as [number, string[]];
      const members: TallyMember[] = [];
      for (let j = 0; j + 1 < flat.length; j += 2)
        members.push({ member: flat[j], score: Number(flat[j + 1]) });
      return { count: Number(count), members };
    });
  }

  async claim(ops: ClaimOp[]): Promise<string[][]> {
    if (ops.length === 0) return [];
    const pipeline = this.redis.pipeline() as unknown as TallyRedis;
    for (const op of ops)
      void pipeline.tallyClaim(
        op.key,
        claimsKey(op.key),
        op.min,
        op.claimant,
        op.limit,
        ttl(op.ttlMs),
      );
    const results = await (pipeline as unknown as ReturnType<Redis['pipeline']>).exec();
    return results!.map(([error, value]) => {
      if (error) throw error;
      return value as string[];
    });
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

type MemoryEntry =
  | { type: 'zset'; members: Map<string, number>; expiresAt: number }
  | { type: 'hll'; members: Set<string>; expiresAt: number }
  | { type: 'claims'; owners: Map<string, string>; expiresAt: number };

/** In-memory TallyStore with the same semantics (exact sets stand in for HyperLogLogs). */
export class MemoryTallyStore implements TallyStore {
  readonly kind = 'memory' as const;
  private readonly entries: ExpiringEntries<MemoryEntry>;

  constructor(private readonly now: () => number = Date.now) {
    this.entries = new ExpiringEntries(now);
  }

  async connect(): Promise<void> {}

  async apply(ops: TallyOp[]): Promise<TallyResult[]> {
    const now = this.now();
    const results = ops.map((op): TallyResult => {
      if (op.type === 'hll') {
        if (op.addTo && op.member) {
          const entry = this.entry(op.addTo, 'hll', () => new Set<string>());
          entry.members.add(op.member);
          entry.expiresAt = now + op.ttlMs;
        }
        const union = new Set<string>();
        for (const key of op.countKeys) {
          const entry = this.live(key);
          if (entry?.type === 'hll') for (const m of entry.members) union.add(m);
        }
        return { count: union.size, members: [] };
      }
      if (op.member) {
        const entry = this.entry(op.key, 'zset', () => new Map<string, number>());
        entry.members.set(op.member, Math.max(op.score, entry.members.get(op.member) ?? -Infinity));
        for (const [m, s] of entry.members) if (s < op.trimBelow) entry.members.delete(m);
        const sorted = ascending(entry.members);
        for (const m of sorted.slice(0, Math.max(0, sorted.length - op.max)))
          entry.members.delete(m.member);
        entry.expiresAt = now + op.ttlMs;
      }
      const entry = this.live(op.key);
      const window =
        entry?.type === 'zset' ? ascending(entry.members).filter((m) => m.score >= op.min) : [];
      return { count: window.length, members: window.slice(0, op.list) };
    });
    this.entries.wrote(ops.length, now);
    return results;
  }

  async claim(ops: ClaimOp[]): Promise<string[][]> {
    const now = this.now();
    return ops.map((op) => {
      const set = this.live(op.key);
      if (set?.type !== 'zset') return [];
      const window = ascending(set.members)
        .filter((m) => m.score >= op.min)
        .slice(0, op.limit);
      if (window.length === 0) return [];
      const claims = this.entry(claimsKey(op.key), 'claims', () => new Map<string, string>());
      claims.expiresAt = now + op.ttlMs;
      const mine: string[] = [];
      for (const { member } of window) {
        if (!claims.owners.has(member)) claims.owners.set(member, op.claimant);
        if (claims.owners.get(member) === op.claimant) mine.push(member);
      }
      return mine;
    });
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

  private entry<T extends MemoryEntry['type']>(
    key: string,
    type: T,
    init: () => unknown,
  ): Extract<MemoryEntry, { type: T }> {
    const existing = this.live(key);
    if (existing?.type === type) return existing as Extract<MemoryEntry, { type: T }>;
    const field = type === 'zset' || type === 'hll' ? 'members' : 'owners';
    const fresh = { type, [field]: init(), expiresAt: Infinity } as unknown as Extract<
      MemoryEntry,
      { type: T }
    >;
    this.entries.set(key, fresh);
    return fresh;
  }
}

/** Redis orders equal scores by member (lexicographically); so does this. */
function ascending(members: Map<string, number>): TallyMember[] {
  return [...members]
    .map(([member, score]) => ({ member, score }))
    .sort((a, b) => a.score - b.score || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
}

/**
 * The tally store that goes with a runtime's state store: Redis under the same URL and key
 * prefix for a Redis state store, in memory otherwise.
 */
export function tallyStoreFor(store: StateStore): TallyStore {
  if (store instanceof RedisStateStore) return new RedisTallyStore(store.connection);
  return new MemoryTallyStore();
}
