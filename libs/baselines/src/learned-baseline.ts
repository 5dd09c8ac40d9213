/**
 * The merged view of an application's shards: what detectors read. Sketches of the retained
 * epochs of every shard are merged lazily, per (endpoint, metric), the first time a detector
 * asks, so a batch pays only for the metrics it uses.
 */
import { BaselineShard } from './baseline-shard';
import { MetricSketch } from './quantile-sketch';
import { APP_SCOPE, type BaselineView, type ResolvedBaselineSpec } from './baseline.types';

export class LearnedBaseline implements BaselineView {
  private readonly merged = new Map<string, MetricSketch | null>();
  private readonly oldest: number;

  constructor(
    private readonly spec: ResolvedBaselineSpec,
    private readonly shards: readonly BaselineShard[],
  ) {
    // The retention window ends at the newest epoch any shard has seen (event time).
    const newest = Math.max(-Infinity, ...shards.map((s) => s.newestEpoch()));
    this.oldest = newest - (spec.epochs - 1) * spec.epochMs;
  }

  count(metric: string, endpoint?: string): number {
    return this.sketch(metric, endpoint)?.count ?? 0;
  }

  quantile(metric: string, q: number, endpoint?: string): number | undefined {
    return this.sketch(metric, endpoint)?.quantile(q);
  }

  mean(metric: string, endpoint?: string): number | undefined {
    return this.sketch(metric, endpoint)?.mean();
  }

  private sketch(metric: string, endpoint = APP_SCOPE): MetricSketch | undefined {
    const key = `${endpoint}\u0000${metric}`;
    let sketch = this.merged.get(key);
    if (sketch === undefined) {
      sketch = null;
      for (const shard of this.shards) {
        for (const [epoch, scopes] of shard.epochs) {
          if (epoch < this.oldest) continue;
          const cell = scopes.get(endpoint)?.get(metric);
          if (!cell) continue;
          sketch ??= MetricSketch.empty(this.spec.relativeAccuracy);
          sketch.merge(cell);
        }
      }
      this.merged.set(key, sketch);
    }
    return sketch ?? undefined;
  }
}

/** A view of nothing learned: every detector then works on its priors. */
export const EMPTY_BASELINE: BaselineView = {
  count: () => 0,
  quantile: () => undefined,
  mean: () => undefined,
};
