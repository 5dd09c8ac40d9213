/**
 * Expiry of automatic decisions in event time. Kafka Streams' stream-time punctuation: each
 * input partition has a stream time, the largest vote event time seen on it; after every batch
 * the decisions of that partition whose expiry is at or before its stream time are lifted
 * with a tombstone. Timers are (subject, expiresAt) pairs kept per partition (a Redis sorted
 * set in the service, ExpirySchedule in memory); publishing or extending a decision moves its
 * timer, so an extended decision is lifted once, at its final expiry.
 *
 * An idle partition's stream time does not move, so its tombstones wait for its next vote.
 * Enforcement does not wait: the node agent compares expiresAt with its clock, and scoring
 * never treats an expired decision as in force (it compares with the vote's event time).
 */
import type { ScoredMember } from '@moat/stream-kit';

/**
 * The subjects due at stream time `at`: stored timers at or before it, overlaid with the
 * timers this batch set (`pending`: a moved timer is no longer due, a cancelled one never is,
 * a new one already past is).
 */
export function dueExpiries(
  stored: readonly ScoredMember[],
  pending: ReadonlyMap<string, number | null>,
  at: number,
): ScoredMember[] {
  const due: ScoredMember[] = [];
  for (const timer of stored) {
    if (timer.score <= at && !pending.has(timer.member)) due.push(timer);
  }
  for (const [member, score] of pending) {
    if (score !== null && score <= at) due.push({ member, score });
  }
  return due.sort((a, b) => a.score - b.score || (a.member < b.member ? -1 : 1));
}

/** In-memory expiry timers of one partition, for replay and tests. */
export class ExpirySchedule {
  private readonly timers = new Map<string, number>();
  private streamTime = 0;

  get size(): number {
    return this.timers.size;
  }

  get now(): number {
    return this.streamTime;
  }

  /** Applies the timers a batch set (null cancels). */
  apply(pending: ReadonlyMap<string, number | null>): void {
    for (const [member, score] of pending) {
      if (score === null) this.timers.delete(member);
      else this.timers.set(member, score);
    }
  }

  /** Advances stream time to `ts` (never back) and removes and returns the timers due. */
  advance(ts: number): ScoredMember[] {
    this.streamTime = Math.max(this.streamTime, ts);
    const due = dueExpiries(
      [...this.timers].map(([member, score]) => ({ member, score })),
      new Map(),
      this.streamTime,
    );
    for (const timer of due) this.timers.delete(timer.member);
    return due;
  }
}
