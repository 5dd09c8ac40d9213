/**
 * API abuse profiles: which bot types to act on, the confidence threshold, the reaction and its
 * duration, and the applications they cover. Live profiles on moat.config.v1 come with the
 * scoring issue; until then the default profile below applies.
 */
import { BOT_TYPES, type Profile } from '@moat/contracts';

export const DEFAULT_PROFILE: Profile = {
  name: 'default',
  botTypes: [...BOT_TYPES],
  threshold: 0.7,
  reaction: 'deny',
  durationMs: 3_600_000,
  applications: ['*'],
};

export function profileCoversApp(profile: Profile, app: string): boolean {
  return profile.applications.some((pattern) => {
    const regex = new RegExp(`^${pattern.split('*').map(escapeRegex).join('.*')}$`, 'i');
    return regex.test(app);
  });
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const REACTION_RANK = { monitor: 0, graylist: 1, deny: 2 } as const;

/** The strictest of two reactions. */
export function stricter(a: Profile['reaction'], b: Profile['reaction']): Profile['reaction'] {
  return REACTION_RANK[a] >= REACTION_RANK[b] ? a : b;
}
