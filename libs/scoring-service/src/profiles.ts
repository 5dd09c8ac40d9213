/**
 * API abuse profiles: which bot types to act on, the confidence threshold (set by a named
 * sensitivity or a number), the reaction (monitor, graylist, deny) and its duration, and the
 * applications they cover. Profiles live on moat.config.v1; DEFAULT_PROFILE applies only while
 * no profile has been published (Moat protects out of the box). When several profiles trigger
 * for a subject, the strictest reaction wins.
 */
import {
  BOT_TYPES,
  SENSITIVITIES,
  type Profile,
  type ProfileEntry,
  type ProfileReaction,
} from '@moat/contracts';
import type { ConfigProblem } from '@moat/stream-kit';

export const DEFAULT_PROFILE: Profile = {
  name: 'default',
  botTypes: [...BOT_TYPES],
  sensitivity: 'medium',
  threshold: SENSITIVITIES.medium,
  reaction: 'deny',
  durationMs: 3_600_000,
  applications: ['*'],
};

const patternCache = new Map<string, RegExp>();

export function profileCoversApp(profile: Profile, app: string): boolean {
  return profile.applications.some((pattern) => {
    let regex = patternCache.get(pattern);
    if (!regex) {
      regex = new RegExp(`^${pattern.split('*').map(escapeRegex).join('.*')}$`, 'is');
      if (patternCache.size > 10_000) patternCache.clear();
      patternCache.set(pattern, regex);
    }
    return regex.test(app);
  });
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export const REACTION_RANK: Readonly<Record<ProfileReaction, number>> = {
  monitor: 0,
  graylist: 1,
  deny: 2,
};

/** The strictest of two reactions. */
export function stricter(a: ProfileReaction, b: ProfileReaction): ProfileReaction {
  return REACTION_RANK[a] >= REACTION_RANK[b] ? a : b;
}

/**
 * Orders profiles strictest first: reaction, then the longer duration, then the lower
 * threshold, then the name, so the outcome never depends on the order entries arrived in.
 */
export function compareStrictness(a: Profile, b: Profile): number {
  return (
    REACTION_RANK[b.reaction] - REACTION_RANK[a.reaction] ||
    b.durationMs - a.durationMs ||
    a.threshold - b.threshold ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}

/**
 * Checks a profile entry beyond its schema (which already refuses unknown bot types,
 * thresholds outside (0, 1] and malformed application patterns, naming the field).
 */
export function checkProfileEntry(entry: ProfileEntry): ConfigProblem | undefined {
  const { profile } = entry;
  if (profile.sensitivity !== undefined) {
    const expected = SENSITIVITIES[profile.sensitivity];
    if (profile.threshold !== expected) {
      return {
        field: '/profile/threshold',
        reason: `threshold ${profile.threshold} contradicts sensitivity "${profile.sensitivity}" (${expected}): give one or the other, or matching values`,
      };
    }
  }
  return undefined;
}
