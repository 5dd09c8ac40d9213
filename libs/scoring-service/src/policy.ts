/**
 * The scoring policy in force: profiles (strictest first), manual entries and detector
 * weights (the calibrated DEFAULT_WEIGHTS unless a weights file says otherwise). An immutable snapshot, rebuilt whenever moat.config.v1 changes and swapped into the
 * score processor between records, so a profile change applies from the next vote on without
 * a restart. The fallback profiles (DEFAULT_PROFILE in the services) apply only while no
 * profile is published.
 */
import type { ConfigEntry, ManualDecisionEntry, Profile } from '@moat/contracts';
import type { ConfigProblem } from '@moat/stream-kit';
import type { Weights } from './confidence';
import { DEFAULT_WEIGHTS } from './default-weights';
import { checkManualEntry, ManualIndex } from './manual';
import { checkProfileEntry, compareStrictness } from './profiles';

export class ScoringPolicy {
  readonly profiles: readonly Profile[];
  readonly manual: ManualIndex;
  readonly weights: Weights;
  /** Whether the profiles are published ones (false: the fallback applies). */
  readonly published: boolean;

  constructor(options: {
    profiles: readonly Profile[];
    manual?: readonly ManualDecisionEntry[] | ManualIndex;
    weights?: Weights;
    published?: boolean;
  }) {
    this.profiles = [...options.profiles].sort(compareStrictness);
    this.manual =
      options.manual instanceof ManualIndex
        ? options.manual
        : new ManualIndex(options.manual ?? []);
    this.weights = options.weights ?? DEFAULT_WEIGHTS;
    this.published = options.published ?? false;
  }

  /** The policy the configuration entries describe; `fallback` while no profile is published. */
  static fromConfig(
    entries: readonly ConfigEntry[],
    fallback: readonly Profile[],
    weights: Weights = DEFAULT_WEIGHTS,
  ): ScoringPolicy {
    const profiles: Profile[] = [];
    const manual: ManualDecisionEntry[] = [];
    for (const entry of entries) {
      if (entry.kind === 'profile') profiles.push(entry.profile);
      else manual.push(entry);
    }
    const published = profiles.length > 0;
    return new ScoringPolicy({
      profiles: published ? profiles : fallback,
      manual,
      weights,
      published,
    });
  }

  /** The longest reaction duration of any profile (state and timer horizons derive from it). */
  get longestDurationMs(): number {
    return Math.max(0, ...this.profiles.map((p) => p.durationMs));
  }
}

/** Scoring's checks of a config entry beyond its schema, for the ConfigFollower. */
export function validateConfigEntry(entry: ConfigEntry): ConfigProblem | undefined {
  return entry.kind === 'profile' ? checkProfileEntry(entry) : checkManualEntry(entry);
}
