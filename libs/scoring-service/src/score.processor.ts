/**
 * Turns votes into decisions. State per subject IP: each detector's latest verdict and the
 * decision in force. When a profile's bot type reaches its threshold, a decision is published
 * on moat.decisions.v1 (keyed by the IP) that expires `durationMs` after the vote's event time.
 * A repeat offender's decision is extended, but only once the new expiry moves it by at least
 * a tenth of the duration: one decision per source, not a storm of duplicates.
 */
import type { Decision, DetectorId, Profile, Vote } from '@moat/contracts';
import type { Emitter, InRecord, KeyedProcessor } from '@moat/stream-kit';
import { confidenceByType, type Verdict, type Weights } from './confidence';
import { profileCoversApp, stricter } from './profiles';

export interface SubjectState {
  verdicts: Partial<Record<DetectorId, Verdict>>;
  decision?: { action: Decision['action']; expiresAt: number; createdAt: number };
}

export interface ScoringOptions {
  profiles: Profile[];
  weights?: Weights;
  /** How long a detector's verdict counts, in event time. */
  verdictHorizonMs: number;
}

export class ScoreProcessor implements KeyedProcessor<Vote, SubjectState> {
  readonly name = 'score';
  readonly stateTtlMs: number;

  constructor(private readonly options: ScoringOptions) {
    const longest = Math.max(
      ...options.profiles.map((p) => p.durationMs),
      options.verdictHorizonMs,
    );
    this.stateTtlMs = longest * 2;
  }

  stateKey(vote: Vote): string {
    return vote.ip;
  }

  process(record: InRecord<Vote>, state: SubjectState | undefined, out: Emitter): SubjectState {
    const vote = record.value!;
    const verdicts = { ...(state?.verdicts ?? {}) };
    const previous = verdicts[vote.detector];
    if (!previous || previous.ts <= vote.ts) {
      verdicts[vote.detector] = {
        verdict: vote.verdict,
        score: vote.score,
        ts: vote.ts,
        evidence: vote.evidence,
      };
    }
    const next: SubjectState = { ...state, verdicts };

    const scores = confidenceByType(
      verdicts,
      vote.ts,
      this.options.verdictHorizonMs,
      this.options.weights,
    );
    let chosen:
      { profile: Profile; reaction: Profile['reaction']; types: typeof scores } | undefined;
    for (const profile of this.options.profiles) {
      if (!profileCoversApp(profile, vote.app)) continue;
      const types = scores.filter(
        (s) => profile.botTypes.includes(s.botType) && s.confidence >= profile.threshold,
      );
      if (types.length === 0) continue;
      if (!chosen || stricter(profile.reaction, chosen.reaction) !== chosen.reaction) {
        chosen = { profile, reaction: profile.reaction, types };
      }
    }
    if (!chosen || chosen.reaction === 'monitor') return next;

    const expiresAt = vote.ts + chosen.profile.durationMs;
    const current = state?.decision;
    const active = current && current.expiresAt > vote.ts;
    const sameOrWeaker =
      active && stricter(current.action as Profile['reaction'], chosen.reaction) === current.action;
    if (sameOrWeaker && expiresAt - current.expiresAt < chosen.profile.durationMs / 10) return next;
    // A weaker reaction does not replace a stricter decision still in force (it would lift it early).
    if (sameOrWeaker && current.action !== chosen.reaction) return next;

    const action: Decision['action'] = chosen.reaction;
    const detectors = new Map<DetectorId, number>();
    for (const t of chosen.types)
      for (const c of t.contributors)
        detectors.set(c.detector, Math.max(detectors.get(c.detector) ?? 0, c.weight));
    const createdAt = active && current ? current.createdAt : vote.ts;
    out.emit('decisions', vote.ip, {
      v: 1,
      subject: vote.ip,
      action,
      source: 'auto',
      botTypes: chosen.types.map((t) => t.botType),
      confidence: Math.max(...chosen.types.map((t) => t.confidence)),
      detectors: [...detectors].map(([detector, weight]) => ({
        detector,
        weight,
        evidence: verdicts[detector]?.evidence ?? [],
      })),
      profile: chosen.profile.name,
      app: vote.app,
      createdAt,
      expiresAt,
    });
    next.decision = { action, expiresAt, createdAt };
    return next;
  }
}
