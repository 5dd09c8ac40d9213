/**
 * The baseline API shared by every detector: what a detector declares it learns (a spec), what it
 * reports while it judges traffic (observations), and what it reads back (a view of the learned
 * normal profile of one application, and of its endpoints where the metric is per endpoint).
 */

export interface MetricSpec {
  /**
   * Values outside [min, max] are trimmed: they are not learned. A detector sets `max` at the
   * most lenient threshold it may ever learn, so a flood beyond it cannot drag the quantiles.
   */
  min?: number;
  max?: number;
  /** Also learn one distribution per endpoint (route template), besides the application's. */
  perEndpoint?: boolean;
}

export interface BaselineSpec {
  metrics: Readonly<Record<string, MetricSpec>>;
  /** Event-time length of one learning epoch (default one day). */
  epochMs?: number;
  /** Epochs kept: the baseline is what was learned over the last `epochs` epochs (default 7). */
  epochs?: number;
  /** Endpoints learned per application, shard and epoch at most (default 64). */
  maxEndpoints?: number;
  /** Relative accuracy of the quantile sketches (default 0.02: quantiles within 2 %). */
  relativeAccuracy?: number;
}

/** One value a detector learned from a session, e.g. the session's request-interval variation. */
export interface Observation {
  metric: string;
  value: number;
  /** Route template, for metrics declared perEndpoint; always learned app-wide as well. */
  endpoint?: string;
}

/** A read-only view of what was learned for one application. */
export interface BaselineView {
  /** Observations behind a metric (0 when nothing was learned). */
  count(metric: string, endpoint?: string): number;
  /** The value at quantile q in [0, 1], within the sketch's relative accuracy; undefined if none. */
  quantile(metric: string, q: number, endpoint?: string): number | undefined;
  /** Mean of the observations (for 0/1 observations: the share of ones); undefined if none. */
  mean(metric: string, endpoint?: string): number | undefined;
}

export const DEFAULT_EPOCH_MS = 86_400_000;
export const DEFAULT_EPOCHS = 7;
export const DEFAULT_MAX_ENDPOINTS = 64;
export const DEFAULT_RELATIVE_ACCURACY = 0.02;

export interface ResolvedBaselineSpec {
  metrics: Readonly<Record<string, MetricSpec>>;
  epochMs: number;
  epochs: number;
  maxEndpoints: number;
  relativeAccuracy: number;
}

export function resolveBaselineSpec(spec: BaselineSpec): ResolvedBaselineSpec {
  const resolved = {
    metrics: spec.metrics,
    epochMs: spec.epochMs ?? DEFAULT_EPOCH_MS,
    epochs: spec.epochs ?? DEFAULT_EPOCHS,
    maxEndpoints: spec.maxEndpoints ?? DEFAULT_MAX_ENDPOINTS,
    relativeAccuracy: spec.relativeAccuracy ?? DEFAULT_RELATIVE_ACCURACY,
  };
  if (!(resolved.epochMs > 0) || !Number.isInteger(resolved.epochs) || resolved.epochs < 1)
    throw new Error('Baseline spec: epochMs must be > 0 and epochs an integer >= 1.');
  if (!(resolved.relativeAccuracy > 0 && resolved.relativeAccuracy < 1))
    throw new Error('Baseline spec: relativeAccuracy must be in (0, 1).');
  return resolved;
}

/** Scope key of the application-wide distributions (endpoints use their route template). */
export const APP_SCOPE = '';
