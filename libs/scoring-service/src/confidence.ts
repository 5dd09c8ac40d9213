/**
 * Confidence of a bot type for a subject = weight of the `bot` votes / weight of every detector
 * of that type that worked for the subject (voted at all). Detectors that had too little data
 * to judge do not count against the subject. Weights default to 1 until calibration (scoring
 * issue) writes the table; a vote older than the verdict horizon (event time) no longer counts.
 */
import {
  BOT_TYPE_DETECTORS,
  BOT_TYPES,
  type BotType,
  type DetectorId,
  type Evidence,
} from '@moat/contracts';

export interface Verdict {
  verdict: 'bot' | 'clean';
  score: number;
  ts: number;
  evidence: Evidence[];
}

export type Weights = Partial<Record<BotType, Partial<Record<DetectorId, number>>>>;

export interface TypeConfidence {
  botType: BotType;
  confidence: number;
  /** Detectors that voted bot, with their weight in this type. */
  contributors: { detector: DetectorId; weight: number }[];
  worked: number;
  /** Total weight of the detectors that worked (the denominator). */
  possible: number;
}

export function confidenceByType(
  verdicts: Partial<Record<DetectorId, Verdict>>,
  now: number,
  horizonMs: number,
  weights: Weights = {},
): TypeConfidence[] {
  return BOT_TYPES.map((botType) => {
    let gained = 0;
    let possible = 0;
    let worked = 0;
    const contributors: TypeConfidence['contributors'] = [];
    for (const detector of BOT_TYPE_DETECTORS[botType]) {
      const verdict = verdicts[detector];
      if (!verdict || now - verdict.ts > horizonMs) continue;
      const weight = weights[botType]?.[detector] ?? 1;
      possible += weight;
      worked += 1;
      if (verdict.verdict === 'bot') {
        gained += weight * verdict.score;
        contributors.push({ detector, weight });
      }
    }
    return {
      botType,
      confidence: possible > 0 ? gained / possible : 0,
      contributors,
      worked,
      possible,
    };
  });
}
