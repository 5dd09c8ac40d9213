/**
 * What a detector may learn, so that a flood does not teach it that floods are normal:
 * sessions rather than requests (a session is learned at a few checkpoints of its length, not at
 * every request), and a quota per client IP and epoch (one IP opening thousands of sessions
 * teaches no more than a handful of humans would).
 */

/**
 * True when a session of `requestCount` requests should be learned: at `first` requests and at
 * every doubling after (first, 2·first, 4·first, …) — at most log2(n) observations per session.
 */
export function isLearningCheckpoint(requestCount: number, first: number): boolean {
  if (requestCount < first || first < 1) return false;
  const ratio = requestCount / first;
  return Number.isInteger(ratio) && (ratio & (ratio - 1)) === 0;
}

/** A client IP's learning budget in the current event-time epoch; lives in the detector state. */
export interface LearningQuota {
  epoch: number;
  used: number;
}

export interface QuotaOptions {
  epochMs: number;
  /** Observations one client IP may contribute per epoch. */
  perEpoch: number;
}

/** Spends one unit of the IP's quota at event time ts, if any is left. Pure. */
export function takeLearningQuota(
  quota: LearningQuota | undefined,
  ts: number,
  options: QuotaOptions,
): { granted: boolean; quota: LearningQuota } {
  const epoch = ts - (ts % options.epochMs);
  const current = quota && quota.epoch === epoch ? quota : { epoch, used: 0 };
  if (quota && epoch < quota.epoch) return { granted: false, quota }; // late event: no credit
  if (current.used >= options.perEpoch) return { granted: false, quota: current };
  return { granted: true, quota: { epoch, used: current.used + 1 } };
}
