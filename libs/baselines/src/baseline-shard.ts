/**
 * One writer's share of an application's baseline: what was learned from one input partition.
 *
 * Baselines are per application, but events are partitioned by client IP, so every partition
 * sees part of every application's traffic. Each partition learns into its own shard, which only
 * the consumer that owns the partition writes (Kafka assigns a partition to one group member at
 * a time), and readers merge all shards — DDSketch merges losslessly. The shard remembers the
 * offset of the last record it learned from: a record at or below it is not learned again, so a
 * redelivered or replayed batch does not count twice.
 *
 * Learning is bucketed in event-time epochs; a shard keeps the last `epochs` of them, so the
 * baseline follows a site that changes and its size stays bounded (metrics × endpoints × epochs
 * sketches of a few hundred bins each).
 */
import { MetricSketch, type EncodedSketch } from './quantile-sketch';
import { APP_SCOPE, type Observation, type ResolvedBaselineSpec } from './baseline.types';

type Cells = Map<string, MetricSketch>; // metric -> sketch
type Scopes = Map<string, Cells>; // scope (APP_SCOPE or route) -> cells

interface EncodedShard {
  v: 1;
  /** Offset (decimal string) of the last record learned from. */
  wm?: string;
  /** epoch start (event time) -> scope -> metric -> sketch */
  e: Record<string, Record<string, Record<string, EncodedSketch>>>;
}

export class BaselineShard {
  /** Epoch start -> scopes, newest retained epochs only. */
  readonly epochs = new Map<number, Scopes>();
  watermark: string | undefined;

  constructor(readonly spec: ResolvedBaselineSpec) {}

  /** Decodes a stored shard; unreadable or foreign data starts an empty shard rather than failing. */
  static decode(raw: string | null, spec: ResolvedBaselineSpec): BaselineShard {
    const shard = new BaselineShard(spec);
    if (raw === null) return shard;
    try {
      const parsed = JSON.parse(raw) as EncodedShard;
      if (parsed?.v !== 1 || typeof parsed.e !== 'object') return shard;
      shard.watermark = typeof parsed.wm === 'string' ? parsed.wm : undefined;
      for (const [epoch, scopes] of Object.entries(parsed.e)) {
        const decodedScopes: Scopes = new Map();
        for (const [scope, cells] of Object.entries(scopes)) {
          const decodedCells: Cells = new Map();
          for (const [metric, encoded] of Object.entries(cells)) {
            if (shard.spec.metrics[metric]) decodedCells.set(metric, MetricSketch.decode(encoded));
          }
          decodedScopes.set(scope, decodedCells);
        }
        shard.epochs.set(Number(epoch), decodedScopes);
      }
    } catch {
      return new BaselineShard(spec);
    }
    return shard;
  }

  /** An independent copy, to learn into while this one stays as it was read. */
  clone(): BaselineShard {
    const copy = new BaselineShard(this.spec);
    copy.watermark = this.watermark;
    for (const [epoch, scopes] of this.epochs) {
      const copied: Scopes = new Map();
      for (const [scope, cells] of scopes) {
        copied.set(scope, new Map([...cells].map(([metric, s]) => [metric, s.clone()])));
      }
      copy.epochs.set(epoch, copied);
    }
    return copy;
  }

  encode(): string {
    const e: EncodedShard['e'] = {};
    for (const [epoch, scopes] of this.epochs) {
      const out: Record<string, Record<string, EncodedSketch>> = {};
      for (const [scope, cells] of scopes) {
        out[scope] = Object.fromEntries([...cells].map(([metric, s]) => [metric, s.encode()]));
      }
      e[String(epoch)] = out;
    }
    const encoded: EncodedShard = { v: 1, e };
    if (this.watermark !== undefined) encoded.wm = this.watermark;
    return JSON.stringify(encoded);
  }

  /**
   * Learns the observations of one record at event time `ts`. With an `offset`, a record at or
   * below the watermark is ignored (already learned) and returns false.
   */
  learn(ts: number, observations: readonly Observation[], offset?: string): boolean {
    if (offset !== undefined) {
      if (this.watermark !== undefined && BigInt(offset) <= BigInt(this.watermark)) return false;
      this.watermark = offset;
    }
    const epoch = ts - (ts % this.spec.epochMs);
    const oldest = this.newestEpoch() - (this.spec.epochs - 1) * this.spec.epochMs;
    if (epoch < oldest) return true; // a late record older than what is kept
    for (const o of observations) this.add(epoch, o);
    this.prune();
    return true;
  }

  newestEpoch(): number {
    let newest = -Infinity;
    for (const epoch of this.epochs.keys()) newest = Math.max(newest, epoch);
    return newest;
  }

  private add(epoch: number, o: Observation): void {
    const metric = this.spec.metrics[o.metric];
    if (!metric || !Number.isFinite(o.value) || o.value < 0) return;
    if (metric.min !== undefined && o.value < metric.min) return;
    if (metric.max !== undefined && o.value > metric.max) return;
    let scopes = this.epochs.get(epoch);
    if (!scopes) this.epochs.set(epoch, (scopes = new Map<string, Cells>()));
    this.cell(scopes, APP_SCOPE, o.metric).add(o.value);
    if (metric.perEndpoint && o.endpoint !== undefined && o.endpoint !== APP_SCOPE) {
      const cells = this.endpointCells(scopes, o.endpoint);
      if (cells) this.cellIn(cells, o.metric).add(o.value);
    }
  }

  /**
   * The cells of an endpoint; when the epoch already has maxEndpoints, a new endpoint replaces
   * one seen only once (likely a probe of a path that does not exist), else it is not learned.
   */
  private endpointCells(scopes: Scopes, endpoint: string): Cells | undefined {
    const existing = scopes.get(endpoint);
    if (existing) return existing;
    const endpoints = scopes.size - (scopes.has(APP_SCOPE) ? 1 : 0);
    if (endpoints >= this.spec.maxEndpoints) {
      const singleton = [...scopes].find(
        ([scope, cells]) => scope !== APP_SCOPE && [...cells.values()].every((c) => c.count <= 1),
      );
      if (!singleton) return undefined;
      scopes.delete(singleton[0]);
    }
    const cells: Cells = new Map();
    scopes.set(endpoint, cells);
    return cells;
  }

  private cell(scopes: Scopes, scope: string, metric: string): MetricSketch {
    let cells = scopes.get(scope);
    if (!cells) scopes.set(scope, (cells = new Map<string, MetricSketch>()));
    return this.cellIn(cells, metric);
  }

  private cellIn(cells: Cells, metric: string): MetricSketch {
    let cell = cells.get(metric);
    if (!cell) cells.set(metric, (cell = MetricSketch.empty(this.spec.relativeAccuracy)));
    return cell;
  }

  private prune(): void {
    const oldest = this.newestEpoch() - (this.spec.epochs - 1) * this.spec.epochMs;
    for (const epoch of [...this.epochs.keys()]) if (epoch < oldest) this.epochs.delete(epoch);
  }
}
