/**
 * What a detector is: a small pure module, (event, its state, learned baseline, config) →
 * new state and optionally a vote with evidence. No Kafka, no Redis, no Nest: the detector
 * service owns transport, state, batching and config, and hosts any module by its id.
 */
import type { TSchema, Static } from '@sinclair/typebox';
import type { DetectorId, Evidence, SessionEvent } from '@moat/contracts';

export interface VoteDraft {
  verdict: 'bot' | 'clean';
  /** Strength of the vote in [0, 1]. */
  score: number;
  evidence: Evidence[];
}

export interface Evaluation<S> {
  /** New state; undefined deletes it. */
  state: S | undefined;
  vote?: VoteDraft;
}

export interface DetectorInput<S, C> {
  event: SessionEvent;
  state: S | undefined;
  /** Learned per-application baseline; absent until baselines exist (priors apply). */
  baseline: undefined;
  config: C;
}

export interface DetectorModule<S = unknown, C extends TSchema = TSchema> {
  readonly id: DetectorId;
  readonly summary: string;
  /** Schema of the detector's configuration, with defaults for every field. */
  readonly configSchema: C;
  /**
   * The subject whose state this event updates (e.g. the client IP). Must derive from the
   * event's client IP, the message key, so that one key's events stay on one partition.
   */
  stateKey(event: SessionEvent): string | null;
  /** How long idle state is kept, given the config (a garbage-collection horizon). */
  stateTtlMs(config: Static<C>): number;
  evaluate(input: DetectorInput<S, Static<C>>): Evaluation<S>;
}

/** Erases a module's state type for the registry (state is opaque JSON to the host). */
export type AnyDetector = DetectorModule<unknown, TSchema>;

export function defineDetector<S, C extends TSchema>(module: DetectorModule<S, C>): AnyDetector {
  return module;
}
