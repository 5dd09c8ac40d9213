/** scoring: moat.votes.v1 → confidence per bot type → moat.decisions.v1. */
import { kafkaEnv, loadConfigOrExit, redisEnv, serviceEnv } from '@moat/config';
import { DEFAULT_PROFILE, ScoringModule, scoringEnv } from '@moat/scoring-service';
import { distributedRuntimeFromEnv, runService } from '@moat/stream-kit';

async function main(): Promise<void> {
  const env = loadConfigOrExit({ ...serviceEnv, ...kafkaEnv, ...redisEnv, ...scoringEnv });
  await runService({
    service: 'scoring',
    runtime: distributedRuntimeFromEnv('scoring', env),
    modules: [
      ScoringModule.register({
        profiles: [DEFAULT_PROFILE],
        verdictHorizonMs: env.MOAT_VERDICT_HORIZON,
      }),
    ],
    port: env.PORT,
    host: env.HOST,
  });
}

void main();
