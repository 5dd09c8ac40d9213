/**
 * @moat/baselines: the normal profile of an application (and its endpoints) learned from the
 * traffic itself — mergeable quantile sketches per event-time epoch, sharded by input partition,
 * refined thresholds within bounds, and the learning policy that keeps floods from poisoning it.
 */
export * from './baseline.types';
export * from './quantile-sketch';
export * from './baseline-shard';
export * from './learned-baseline';
export * from './refine';
export * from './learning-policy';
export * from './local-baseline';
