import { Module, type DynamicModule } from '@nestjs/common';
import { duration, num, str } from '@moat/config';
import { readProfileFile } from './profile-admin';
import { DEFAULT_PROFILE } from './profiles';
import { ScoringController } from './scoring.controller';
import { ScoringService, SCORING_OPTIONS, type ScoringServiceOptions } from './scoring.service';
import { Statistics } from './statistics';
import { loadWeights } from './weights';

export const scoringEnv = {
  MOAT_VERDICT_HORIZON: duration({
    default: 3_600_000,
    desc: 'how long a detector verdict counts (event time)',
  }),
  MOAT_PROFILES_FILE: str({
    default: '',
    desc: 'profile file (JSON) whose entries are published on moat.config.v1 at start-up when missing there',
  }),
  MOAT_WEIGHTS_FILE: str({
    default: '',
    desc: 'detector weights per bot type (JSON), laid over the calibrated defaults entry by entry',
  }),
  MOAT_REGISTRY_RETENTION: duration({
    default: 30 * 86_400_000,
    desc: 'how long a detected bot stays in the registry after its last activity',
  }),
  MOAT_REGISTRY_MAX_BOTS: num({
    default: 100_000,
    desc: 'most bots kept in the registry (least recently active dropped first)',
  }),
  MOAT_STATS_RETENTION: duration({
    default: 70 * 86_400_000,
    desc: 'how long daily statistics are kept (at least 61d for the 30-vs-30-day comparison)',
  }),
};

/**
 * Scoring options from the validated environment. Throws, naming the variable, when the
 * weights or profile file is wrong or the statistics retention too short.
 */
export function scoringOptionsFromEnv(env: {
  MOAT_VERDICT_HORIZON: number;
  MOAT_PROFILES_FILE: string;
  MOAT_WEIGHTS_FILE: string;
  MOAT_REGISTRY_RETENTION: number;
  MOAT_REGISTRY_MAX_BOTS: number;
  MOAT_STATS_RETENTION: number;
}): ScoringServiceOptions {
  if (env.MOAT_STATS_RETENTION < Statistics.MIN_RETENTION_MS) {
    throw new Error(
      `MOAT_STATS_RETENTION=${Math.round(env.MOAT_STATS_RETENTION / 86_400_000)}d is too short: the 30-vs-30-day comparison needs at least 61d`,
    );
  }
  let weights;
  try {
    weights = env.MOAT_WEIGHTS_FILE ? loadWeights(env.MOAT_WEIGHTS_FILE) : undefined;
  } catch (err) {
    throw new Error(`MOAT_WEIGHTS_FILE: ${(err as Error).message}`);
  }
  if (env.MOAT_PROFILES_FILE) {
    try {
      readProfileFile(env.MOAT_PROFILES_FILE);
    } catch (err) {
      throw new Error(`MOAT_PROFILES_FILE: ${(err as Error).message.replace(/\n/g, '; ')}`);
    }
  }
  return {
    profiles: [DEFAULT_PROFILE],
    verdictHorizonMs: env.MOAT_VERDICT_HORIZON,
    weights,
    registry: { retentionMs: env.MOAT_REGISTRY_RETENTION, maxBots: env.MOAT_REGISTRY_MAX_BOTS },
    statsRetentionMs: env.MOAT_STATS_RETENTION,
    profilesFile: env.MOAT_PROFILES_FILE || undefined,
  };
}

/**
 * The scoring service: moat.votes.v1 → confidence per bot type → moat.decisions.v1, with
 * profiles and manual entries followed live on moat.config.v1, the bots registry and daily
 * statistics, and read-only views of them over HTTP.
 */
@Module({})
export class ScoringModule {
  static register(options: ScoringServiceOptions): DynamicModule {
    return {
      module: ScoringModule,
      controllers: [ScoringController],
      providers: [{ provide: SCORING_OPTIONS, useValue: options }, ScoringService],
      exports: [ScoringService],
    };
  }
}
