/**
 * A baseline learned in one process from one stream, for backtesting, replay and tests: one
 * shard, whose view is refreshed on demand (as the detector service refreshes per batch).
 */
import { BaselineShard } from './baseline-shard';
import { LearnedBaseline } from './learned-baseline';
import {
  resolveBaselineSpec,
  type BaselineSpec,
  type BaselineView,
  type Observation,
  type ResolvedBaselineSpec,
} from './baseline.types';

export class LocalBaseline {
  readonly spec: ResolvedBaselineSpec;
  private readonly shards = new Map<string, BaselineShard>();
  private views = new Map<string, LearnedBaseline>();

  constructor(spec: BaselineSpec) {
    this.spec = resolveBaselineSpec(spec);
  }

  learn(app: string, ts: number, observations: readonly Observation[]): void {
    if (observations.length === 0) return;
    let shard = this.shards.get(app);
    if (!shard) this.shards.set(app, (shard = new BaselineShard(this.spec)));
    shard.learn(ts, observations);
  }

  /** The view as of the last refresh() (what a detector sees during one batch). */
  view(app: string): BaselineView | undefined {
    return this.views.get(app);
  }

  refresh(): void {
    this.views = new Map(
      [...this.shards].map(([app, shard]) => [app, new LearnedBaseline(this.spec, [shard])]),
    );
  }
}
