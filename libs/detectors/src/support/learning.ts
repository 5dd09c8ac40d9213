/** The learning rules every detector applies (see @moat/baselines learning-policy). */
import { takeLearningQuota, type LearningQuota, type Observation } from '@moat/baselines';

export const LEARNING_EPOCH_MS = 86_400_000;
/** Sessions' observations one client IP may contribute per day and detector. */
export const LEARNING_PER_IP = 8;

/** Grants the observations if the IP has quota left today; returns the new quota. */
export function learnWithQuota(
  quota: LearningQuota | undefined,
  ts: number,
  observations: Observation[],
): { observations?: Observation[]; quota: LearningQuota | undefined } {
  if (observations.length === 0) return { quota };
  const taken = takeLearningQuota(quota, ts, {
    epochMs: LEARNING_EPOCH_MS,
    perEpoch: LEARNING_PER_IP,
  });
  return taken.granted ? { observations, quota: taken.quota } : { quota: taken.quota };
}
