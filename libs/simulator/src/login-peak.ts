/**
 * A legitimate login peak: a normal period of people, plus — inside `peakMs` starting at
 * `peakStart` — a crowd of extra people (a campaign e-mail, a password-reset wave) who behave
 * exactly like the others, so the application sees `factor` × its normal login volume in that
 * window with the normal success rate. For checking that detectors which take the application's
 * authentication volume into account do not flag everyone at a peak.
 */
import type { SimulatedRequest } from './simulation.types';
import { simulate } from './simulate';

export interface LoginPeakOptions {
  seed: number;
  start: number;
  durationMs: number;
  /** People over the whole period (the normal volume). */
  humans: number;
  peakStart: number;
  peakMs: number;
  /** Login volume in the peak window relative to normal (10 = ten times). */
  factor: number;
  app?: string;
}

/** People who start a visit inside the peak window beyond the normal ones there. */
export function extraPeakHumans(options: LoginPeakOptions): number {
  const normalInWindow = (options.humans * options.peakMs) / options.durationMs;
  return Math.round(normalInWindow * (options.factor - 1));
}

/** The normal period and the peak crowd, merged in event-time order. */
export function* simulateLoginPeak(options: LoginPeakOptions): Generator<SimulatedRequest> {
  const app = options.app ? { app: options.app } : {};
  const normal = simulate({
    seed: options.seed,
    start: options.start,
    durationMs: options.durationMs,
    humans: options.humans,
    bots: [],
    ...app,
  });
  const crowd = simulate({
    seed: options.seed + 1,
    start: options.peakStart,
    durationMs: options.peakMs,
    humans: extraPeakHumans(options),
    bots: [],
    ...app,
  });
  let a = normal.next();
  let b = crowd.next();
  while (!a.done || !b.done) {
    if (b.done || (!a.done && a.value.input.ts <= b.value.input.ts)) {
      yield a.value;
      a = normal.next();
    } else {
      // Actor names restart at human-0 in the second simulation: keep them apart.
      yield { ...b.value, actor: `peak-${b.value.actor}` };
      b = crowd.next();
    }
  }
}
