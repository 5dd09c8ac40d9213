/**
 * The learned model of normal sessions behind the suspicious behavior score, read from the
 * detector's baseline (so it is persisted, sharded by partition, idempotent on replay and
 * forgotten after the retention epochs like every baseline):
 *
 * - a first-order transition model of endpoints (method + route template) per application,
 *   with a session-start state: `transition` counts per `from -> to`, `departure` counts per
 *   `from`, `arrival` counts per `to`. Counts are exact (the sketches' own counts). The
 *   probability of a step is Dirichlet-smoothed towards the (add-one smoothed) arrival
 *   distribution, so an unseen transition to a common endpoint is merely unusual and a step to
 *   an endpoint never seen is very unusual, never impossible;
 * - the marginal distribution of each session feature (quantile sketches). A feature's outlier
 *   score is the negative log of its tail probability under the learned distribution, read from
 *   a grid of learned quantiles (log-linear between them, an exponential tail fitted on the last
 *   decade beyond them). The session's outlier score is the sum over features: a histogram-based
 *   outlier score (HBOS, Goldstein & Dengel 2012) on mergeable sketches.
 */
import type { BaselineView, Observation } from '@moat/baselines';

export const START = '^';

export function transitionKey(from: string, to: string): string {
  return `${from} -> ${to}`;
}

/** The observations that teach one step of a session. */
export function transitionObservations(from: string, to: string): Observation[] {
  return [
    { metric: 'transition', value: 1, endpoint: transitionKey(from, to) },
    { metric: 'departure', value: 1, endpoint: from },
    { metric: 'arrival', value: 1, endpoint: to },
  ];
}

export interface TransitionModelOptions {
  /** Weight of the arrival distribution in a step's probability (Dirichlet concentration). */
  smoothing: number;
  /** Endpoints assumed to exist beyond those seen (add-one smoothing of arrivals). */
  vocabulary: number;
}

export interface StepProbability {
  p: number;
  /** −ln p, in nats. */
  surprise: number;
  /** Learned counts behind it. */
  seen: number;
  from: number;
}

/** Probability of stepping from `from` to `to` under the learned model. */
export function stepProbability(
  view: BaselineView,
  from: string,
  to: string,
  options: TransitionModelOptions,
): StepProbability {
  const arrivals = view.count('arrival');
  const arrivedTo = view.count('arrival', to);
  const unigram = (arrivedTo + 1) / (arrivals + options.vocabulary);
  const seen = view.count('transition', transitionKey(from, to));
  const departures = view.count('departure', from);
  const p = (seen + options.smoothing * unigram) / (departures + options.smoothing);
  return { p, surprise: -Math.log(p), seen, from: departures };
}

/** Steps learned in the application (the model judges nothing before it has enough). */
export function learnedSteps(view: BaselineView | undefined): number {
  return view?.count('arrival') ?? 0;
}

// ---- feature outlier scores ----

/** Quantiles read from a feature's learned distribution. */
const GRID = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999];
/**
 * The smallest tail probability a feature can score (≈ 13.8 nats): a tail beyond what a few
 * thousand learned sessions can measure is not evidence, and no one feature may dominate the sum.
 */
export const MIN_TAIL = 1e-6;

export interface FeatureDistribution {
  count: number;
  /** Learned values at GRID's quantiles (non-decreasing). */
  values: number[];
}

const grids = new WeakMap<BaselineView, Map<string, FeatureDistribution | null>>();

/** The learned distribution of a metric, cached for the lifetime of the view (one batch). */
export function distribution(
  view: BaselineView,
  metric: string,
  minCount: number,
): FeatureDistribution | undefined {
  let cache = grids.get(view);
  if (!cache) {
    cache = new Map<string, FeatureDistribution | null>();
    grids.set(view, cache);
  }
  const key = `${metric}\u0000${minCount}`;
  let found = cache.get(key);
  if (found === undefined) {
    const count = view.count(metric);
    found = null;
    if (count >= minCount) {
      const values = GRID.map((q) => view.quantile(metric, q) ?? NaN);
      if (values.every(Number.isFinite)) {
        for (let i = 1; i < values.length; i++) values[i] = Math.max(values[i], values[i - 1]);
        found = { count, values };
      }
    }
    cache.set(key, found);
  }
  return found ?? undefined;
}

/**
 * P(X ≥ x) under the learned distribution, within [MIN_TAIL, 1]. `scale` is the feature's
 * smallest meaningful difference: beyond the learned quantiles the tail falls by one decade per
 * max(q99.9 − q99, scale), so a distribution that is all zeros does not turn 0.01 into an outlier.
 */
export function upperTail(d: FeatureDistribution, x: number, scale = 0): number {
  const v = d.values;
  const last = v.length - 1;
  if (x <= v[0]) return 1;
  if (x > v[last]) {
    // Exponential tail: one decade of probability per (q99.9 − q99) beyond q99.9.
    const span = Math.max(v[last] - v[last - 1], Math.abs(v[last]) * 0.05, scale, 1e-9);
    return Math.max(MIN_TAIL, (1 - GRID[last]) * Math.pow(10, -(x - v[last]) / span));
  }
  let i = 0;
  while (v[i + 1] < x) i++;
  // v[i] < x ≤ v[i+1]: between the tails of those two quantiles, log-linear.
  const lo = Math.log(1 - GRID[i]);
  const hi = Math.log(1 - GRID[i + 1]);
  const frac = v[i + 1] === v[i] ? 1 : (x - v[i]) / (v[i + 1] - v[i]);
  return Math.exp(lo + frac * (hi - lo));
}

/** P(X ≤ x) under the learned distribution, within [MIN_TAIL, 1] (see upperTail). */
export function lowerTail(d: FeatureDistribution, x: number, scale = 0): number {
  const v = d.values;
  const last = v.length - 1;
  if (x >= v[last]) return 1;
  if (x < v[0]) {
    const span = Math.max(v[1] - v[0], Math.abs(v[0]) * 0.05, scale, 1e-9);
    return Math.max(MIN_TAIL, GRID[0] * Math.pow(10, -(v[0] - x) / span));
  }
  let i = last;
  while (v[i - 1] > x) i--;
  // v[i-1] ≤ x < v[i]
  const lo = Math.log(GRID[i - 1]);
  const hi = Math.log(GRID[i]);
  const frac = v[i] === v[i - 1] ? 0 : (x - v[i - 1]) / (v[i] - v[i - 1]);
  return Math.exp(lo + frac * (hi - lo));
}

export type Tail = 'upper' | 'both';

/** A feature's outlier score in nats: −ln of its (one- or two-sided) tail probability. */
export function featureSurprise(d: FeatureDistribution, x: number, tail: Tail, scale = 0): number {
  const upper = upperTail(d, x, scale);
  const p = tail === 'upper' ? upper : Math.min(1, 2 * Math.min(upper, lowerTail(d, x, scale)));
  return -Math.log(Math.max(MIN_TAIL, p));
}

/** The median of a learned distribution (for the evidence). */
export function median(d: FeatureDistribution): number {
  return d.values[GRID.indexOf(0.5)];
}
