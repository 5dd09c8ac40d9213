/**
 * Where a hosted detector's per-application baselines live: one shard per (application, input
 * partition) in the runtime's state store, under `bl:<detector>:<app>:<partition>`.
 *
 * Update scheme (bounded and idempotent):
 * - A partition is owned by one member of the detector's consumer group at a time, so each
 *   shard has one writer; there is no read-modify-write race between replicas.
 * - Before a batch, the shards of every application in it are read (one MGET: applications ×
 *   shards) and merged into the view the detector reads during that batch.
 * - The batch's observations are learned into the shard of their record's partition in the
 *   persist step, before the keyed state is written: a record at or below the shard's
 *   watermark is not learned twice, so a redelivered batch, a crash before the commit or a
 *   replay of the same offsets leaves the baseline as it was. (A replay into a new topic or
 *   group is new traffic and is learned again: use a new MOAT_REDIS_PREFIX for backtests.)
 * - Shards keep the last `epochs` event-time epochs, so they stop growing.
 * At a rebalance, a batch still finishing on the previous owner can race the new owner's first
 * write of the same shard; at most that batch's observations are lost, never counted twice.
 */
import {
  BaselineShard,
  LearnedBaseline,
  resolveBaselineSpec,
  type BaselineSpec,
  type BaselineView,
  type Observation,
  type ResolvedBaselineSpec,
} from '@moat/baselines';
import type { StateStore } from '@moat/stream-kit';

/** Observations of one record, to learn once the batch's outputs are acknowledged. */
export interface PendingObservations {
  app: string;
  partition: number;
  offset: string;
  ts: number;
  observations: Observation[];
}

export interface BaselineBookOptions {
  /** Shards read per application: at least the input topic's partition count (default 16). */
  shards?: number;
}

export class BaselineBook {
  readonly spec: ResolvedBaselineSpec;
  private readonly shards: number;
  private readonly raw = new Map<string, string | null>();
  private readonly decoded = new Map<string, BaselineShard>();
  private readonly ttlMs: number;

  constructor(
    private readonly detectorId: string,
    spec: BaselineSpec,
    private readonly store: StateStore,
    options: BaselineBookOptions = {},
  ) {
    this.spec = resolveBaselineSpec(spec);
    this.shards = options.shards ?? 16;
    // Garbage collection only: twice the retention, so an idle application is forgotten.
    this.ttlMs = this.spec.epochs * this.spec.epochMs * 2;
  }

  key(app: string, partition: number): string {
    return `bl:${this.detectorId}:${app}:${partition}`;
  }

  /** Reads every shard of the given applications and returns their merged views. */
  async load(apps: string[], highestPartition: number): Promise<Map<string, BaselineView>> {
    const count = Math.max(this.shards, highestPartition + 1);
    const keys = apps.flatMap((app) => Array.from({ length: count }, (_, p) => this.key(app, p)));
    const raws = await this.store.getMany(keys);
    keys.forEach((key, i) => this.remember(key, raws[i] ?? null));
    const views = new Map<string, BaselineView>();
    apps.forEach((app, a) => {
      const shards = keys.slice(a * count, (a + 1) * count).map((key) => this.decoded.get(key)!);
      views.set(app, new LearnedBaseline(this.spec, shards));
    });
    return views;
  }

  /** Learns a batch's observations into their shards and writes the shards it changed. */
  async persist(pending: PendingObservations[]): Promise<void> {
    if (pending.length === 0) return;
    const changed = new Map<string, BaselineShard>();
    for (const p of pending) {
      const key = this.key(p.app, p.partition);
      let shard = changed.get(key);
      if (!shard) {
        // A copy of what was read: the cached shard must not change before the write.
        const read = this.decoded.get(key);
        shard = read ? read.clone() : BaselineShard.decode(this.raw.get(key) ?? null, this.spec);
        changed.set(key, shard);
      }
      shard.learn(p.ts, p.observations, p.offset);
    }
    const writes = [...changed].map(([key, shard]) => ({
      key,
      value: shard.encode(),
      ttlMs: this.ttlMs,
    }));
    await this.store.setMany(writes);
    // What was written is the learned shard: cache it as it is rather than decode it again.
    for (const { key, value } of writes) {
      this.raw.set(key, value);
      this.decoded.set(key, changed.get(key)!);
    }
  }

  private remember(key: string, raw: string | null): void {
    if (this.decoded.has(key) && this.raw.get(key) === raw) return;
    this.raw.set(key, raw);
    this.decoded.set(key, BaselineShard.decode(raw, this.spec));
  }
}
