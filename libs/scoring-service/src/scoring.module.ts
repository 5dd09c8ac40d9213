import { Module, type DynamicModule } from '@nestjs/common';
import { duration } from '@moat/config';
import { ScoringService, SCORING_OPTIONS } from './scoring.service';
import type { ScoringOptions } from './score.processor';

export const scoringEnv = {
  MOAT_VERDICT_HORIZON: duration({
    default: 3_600_000,
    desc: 'how long a detector verdict counts (event time)',
  }),
};

/** The scoring service: moat.votes.v1 → confidence per bot type → moat.decisions.v1. */
@Module({})
export class ScoringModule {
  static register(options: ScoringOptions): DynamicModule {
    return {
      module: ScoringModule,
      providers: [{ provide: SCORING_OPTIONS, useValue: options }, ScoringService],
    };
  }
}
