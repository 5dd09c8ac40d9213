/**
 * How a detector turns what was learned into a threshold: a calibrated prior, safe on any site,
 * that the learned baseline may move only within documented bounds, and only once enough
 * sessions were learned. A flood can therefore at worst move a threshold to its bound.
 */
import type { BaselineView } from './baseline.types';

export interface RefineOptions {
  metric: string;
  endpoint?: string;
  /** The calibrated prior: the threshold used until enough was learned. */
  prior: number;
  /** Quantile of the learned distribution the threshold derives from. */
  quantile: number;
  /** threshold = learned quantile × factor, then clamped to [min, max]. */
  factor: number;
  min: number;
  max: number;
  /** Sessions that must have been learned before the baseline counts. */
  minObservations: number;
}

export interface Threshold {
  value: number;
  /** The learned quantile the threshold derives from, when the baseline was used. */
  baseline?: number;
  /** How many observations the baseline had. */
  observations: number;
  source: 'prior' | 'learned';
}

export function refineThreshold(view: BaselineView | undefined, o: RefineOptions): Threshold {
  const observations = view?.count(o.metric, o.endpoint) ?? 0;
  const learned =
    observations >= o.minObservations
      ? view?.quantile(o.metric, o.quantile, o.endpoint)
      : undefined;
  if (learned === undefined) return { value: o.prior, observations, source: 'prior' };
  const value = Math.min(o.max, Math.max(o.min, learned * o.factor));
  return { value, baseline: round(learned), observations, source: 'learned' };
}

/** Describes a threshold for a vote's evidence. */
export function describeThreshold(t: Threshold, what = 'sessions'): string {
  return t.source === 'learned'
    ? `learned from ${t.observations} ${what}`
    : `prior (${t.observations} ${what} learned so far)`;
}

export function round(value: number, digits = 4): number {
  return Number(value.toFixed(digits));
}
