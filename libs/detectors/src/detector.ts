/**
 * What a detector is: a small pure module, (event, its state, learned baseline, config) →
 * new state and optionally a vote with evidence. No Kafka, no Redis, no Nest: the detector
 * service owns transport, state, batching and config, and hosts any module by its id.
 */
import type { TSchema, Static } from '@sinclair/typebox';
import type { DetectorId, Evidence, SessionEvent } from '@moat/contracts';
import type { BaselineSpec, BaselineView, Observation } from '@moat/baselines';
import type { MemberVoteDraft, TallyReadings, TallyRequest } from './cross-session';

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
  /**
   * What this event teaches the application's baseline (declared in the module's `baseline`
   * spec). The host learns it after the batch's outputs are acknowledged, at most once per record.
   */
  observations?: Observation[];
  /** Votes for every member (IP) of a cross-session tally (see cross-session.ts). */
  memberVotes?: MemberVoteDraft[];
}

export interface DetectorInput<S, C> {
  event: SessionEvent;
  state: S | undefined;
  /**
   * What was learned for the event's application (as of the start of the batch); undefined for
   * a detector that learns nothing. Detectors fall back to their priors until it has enough.
   */
  baseline: BaselineView | undefined;
  config: C;
  /** What the event's cross-session tallies read, by name; undefined where no host keeps them. */
  tallies?: TallyReadings;
}

export interface DetectorModule<S = unknown, C extends TSchema = TSchema> {
  readonly id: DetectorId;
  readonly summary: string;
  /** Schema of the detector's configuration, with defaults for every field. */
  readonly configSchema: C;
  /** The metrics this detector learns per application; omitted if it learns none. */
  readonly baseline?: BaselineSpec;
  /**
   * The subject whose state this event updates (e.g. the client IP). Must derive from the
   * event's client IP, the message key, so that one key's events stay on one partition.
   */
  stateKey(event: SessionEvent): string | null;
  /** How long idle state is kept, given the config (a garbage-collection horizon). */
  stateTtlMs(config: Static<C>): number;
  /** Cross-session tallies the event updates and reads (see cross-session.ts); pure. */
  tallies?(event: SessionEvent, config: Static<C>): TallyRequest[];
  evaluate(input: DetectorInput<S, Static<C>>): Evaluation<S>;
}

/** Erases a module's state type for the registry (state is opaque JSON to the host). */
export type AnyDetector = DetectorModule<unknown, TSchema>;

export function defineDetector<S, C extends TSchema>(module: DetectorModule<S, C>): AnyDetector {
  return module;
}
