/**
 * Cross-session tallies, for detectors whose evidence is keyed by something other than the
 * client IP (an account hash, a fingerprint, the application) and so spans partitions and
 * replicas. A detector declares, purely, what an event adds to which tally and what it reads;
 * the host applies the additions as commutative, idempotent updates in the shared store and
 * hands the detector what it read, *including* this event's own addition. A detector can then
 * vote for the members of a tally (the IPs of a cluster or a pool): the host hands each member
 * to exactly one triggering event (a claim), so every IP is voted for once, with an id that
 * does not depend on which event or which replica got there first.
 */
import type { VoteDraft } from './detector';

interface TallyBase {
  /** How the detector finds the reading again (unique among the event's tallies). */
  name: string;
  /** The subject of the tally (e.g. `<app>|<account hash>`); the host namespaces it. */
  key: string;
  /** What this event adds; omitted to read only. */
  member?: string;
  /** Counted: members seen in the last windowMs of event time (up to this event's time). */
  windowMs: number;
  /** How long the tally is kept (event time for trimming; a TTL for garbage collection). */
  retentionMs: number;
}

/**
 * A set of members with the event time they were last seen (a Redis sorted set): exact, capped
 * to the newest `maxMembers`, listable, claimable.
 */
export interface MembersTally extends TallyBase {
  kind: 'members';
  maxMembers: number;
  /** How many window members to return (oldest first); 0 or omitted: the count only. */
  list?: number;
}

/** Distinct members per event-time bucket (HyperLogLogs, ≤ 12 KB each, ~0.8 % error). */
export interface DistinctTally extends TallyBase {
  kind: 'distinct';
  bucketMs: number;
  /**
   * false: the member is added and nothing is read (the reading's count is 0) — for the many
   * events whose judgement does not need the count; reading a wide window costs a union of
   * its buckets.
   */
  read?: boolean;
}

export type TallyRequest = MembersTally | DistinctTally;

export interface TallyReading {
  /** Members in the window (this event's included). */
  count: number;
  /** Up to `list` of them with the event time they were last seen. */
  members: { member: string; score: number }[];
}

export type TallyReadings = Readonly<Record<string, TallyReading>>;

/** A `bot` vote for every member (an IP) of a members tally, each handed out once. */
export interface MemberVoteDraft extends VoteDraft {
  verdict: 'bot';
  /** Name of a `members` tally of this event whose members are IP addresses. */
  tally: string;
  /**
   * Members not to vote for (an account's owner in its own account's pool). They are claimed
   * all the same, so no later event votes for them either.
   */
  exclude?: readonly string[];
}
