/**
 * When a detector speaks: on a change of verdict, and while a `bot` verdict holds, again at most
 * every repeatVoteMs (event time) so that scoring can extend a decision. A `clean` verdict is
 * not repeated. Every detector shares this policy, so scoring sees the same rhythm from all.
 */
import type { Evidence } from '@moat/contracts';
import type { VoteDraft } from '../detector';

export interface VoteMemory {
  lastVerdict?: 'bot' | 'clean';
  lastVoteAt?: number;
}

/** The vote to emit (if any) and the memory after it. */
export function castVote(
  memory: VoteMemory,
  verdict: 'bot' | 'clean' | undefined,
  ts: number,
  repeatVoteMs: number,
  draft: () => { score: number; evidence: Evidence[] },
): { vote?: VoteDraft; memory: VoteMemory } {
  // Only the vote memory: callers merge it into their own new state.
  const kept: VoteMemory = {};
  if (memory.lastVerdict !== undefined) kept.lastVerdict = memory.lastVerdict;
  if (memory.lastVoteAt !== undefined) kept.lastVoteAt = memory.lastVoteAt;
  if (verdict === undefined) return { memory: kept };
  const repeatDue =
    verdict === 'bot' &&
    (memory.lastVoteAt === undefined || ts - memory.lastVoteAt >= repeatVoteMs);
  if (verdict === memory.lastVerdict && !repeatDue) return { memory: kept };
  const { score, evidence } = draft();
  return {
    vote: { verdict, score: verdict === 'bot' ? Math.min(1, Math.max(0, score)) : 0, evidence },
    memory: { lastVerdict: verdict, lastVoteAt: ts },
  };
}
